; paging_higher_half.asm - probe (vmx matches QEMU): paging with 4 KiB tables,
; identity map of 8 MiB plus an alias at 0xC0000000; runs at the alias, checks
; both views agree, takes a #PF (vector, error, CR2), then invlpg after
; clearing the alias PDE must make the access fault.
%include "mini.inc"
main:
        ; page tables: pd at pd, two page tables cover 0..8 MiB
        mov edi, pt0
        mov eax, 0x003                  ; present, writable
        mov ecx, 2048
.pt:    stosd
        add eax, 0x1000
        loop .pt
        mov eax, pt0
        or eax, 3
        mov [pd + 0*4], eax
        mov [pd + 768*4], eax           ; 0xC0000000 -> 0..4 MiB
        mov eax, pt1
        or eax, 3
        mov [pd + 1*4], eax
        mov eax, pd
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .on
.on:    mov esi, msg_on
        call print
        ; run at the alias
        mov eax, .high
        add eax, 0xC0000000
        jmp eax
.high:  mov dword [probe], 0x11223344   ; identity
        mov eax, [probe + 0xC0000000]   ; via the alias
        cmp eax, 0x11223344
        jne .bad
        mov esi, msg_alias
        call print
        ; a not-present page: #PF with CR2 and the error code
        mov dword [nexc], 0
        mov dword [resume], .after_pf
        mov eax, [0x40000000]
.after_pf:
        mov eax, [last_vec]
        mov esi, msg_pf
        call print
        call printhex
        mov eax, [last_err]
        mov esi, msg_err
        call print
        call printhex
        mov eax, cr2
        mov esi, msg_cr2
        call print
        call printhex
        mov esi, nl
        call print
        cmp dword [last_vec], 14
        jne .bad
        ; clear the alias PDE, invlpg, the access must fault now
        mov dword [pd + 768*4], 0
        invlpg [probe + 0xC0000000]
        mov dword [nexc], 0
        mov dword [resume], .after_pf2
        mov eax, [probe + 0xC0000000]
.after_pf2:
        cmp dword [nexc], 1
        jne .bad
        mov esi, msg_invlpg
        call print
        push dword 0x10
        call exit
.bad:   mov esi, msg_bad
        call print
        push dword 0x11
        call exit
section .data
msg_on: db "paging on", 10, 0
msg_alias: db "running at 0xC0000000 alias, aliases agree", 10, 0
msg_pf: db "#PF vector ", 0
msg_err: db " err ", 0
msg_cr2: db " cr2 ", 0
msg_invlpg: db "alias PDE cleared + invlpg: access faults", 10, 0
msg_bad: db "paging probe FAILED", 10, 0
nl:     db 10, 0
section .bss
alignb 4096
pd:     resb 4096
pt0:    resb 4096
pt1:    resb 4096
probe:  resd 1
