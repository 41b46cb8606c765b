; mbinfo.asm - repro: prints the multiboot info a guest sees: flags bit 0
; mem_lower/mem_upper and every memory-map entry (base, length, type).
%include "mini.inc"
main:
        mov [mbi], ebx
        mov esi, msg_mem
        call print
        mov eax, [ebx + 4]
        call printhex
        mov esi, sp_
        call print
        mov eax, [ebx + 8]
        call printhex
        mov esi, nl
        call print
        test dword [ebx], 0x40
        jz .done
        mov esi, [ebx + 48]             ; mmap_addr
        mov edi, esi
        add edi, [ebx + 44]             ; + mmap_length
.e:     cmp esi, edi
        jae .done
        push esi
        mov ebp, esi
        mov esi, msg_ent
        call print
        mov eax, [ebp + 8]
        call printhex
        mov eax, [ebp + 4]
        call printhex
        mov esi, sp_
        call print
        mov eax, [ebp + 16]
        call printhex
        mov eax, [ebp + 12]
        call printhex
        mov esi, sp_
        call print
        mov eax, [ebp + 20]
        call printhex
        mov esi, nl
        call print
        pop esi
        add esi, [esi]
        add esi, 4
        jmp .e
.done:  push dword 0x10
        call exit
section .data
msg_mem: db "mem_lower/mem_upper (KiB) ", 0
msg_ent: db "mmap ", 0
sp_:    db " ", 0
nl:     db 10, 0
mbi:    dd 0
