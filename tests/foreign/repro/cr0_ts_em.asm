; cr0_ts_em.asm - repro: with CR0.TS=1 an x87 instruction (fninit) must raise
; #NM (vector 7), likewise with CR0.EM=1 (fld1); the handler skips the
; instruction. Exits 0x10 when both fault once (QEMU does), 0x11 otherwise.
%include "mini.inc"
main:
        mov dword [nexc], 0
        mov eax, cr0
        or eax, 8                       ; TS
        mov cr0, eax
        mov dword [resume], .after_fninit ; skip it: the handler does not clts
        fninit
.after_fninit:
        mov eax, [nexc]
        mov esi, msg_ts
        call print
        call printhex
        mov eax, [last_vec]
        mov esi, msg_vec
        call print
        call printhex
        mov [n_ts], eax
        clts
        mov dword [nexc], 0
        mov dword [last_vec], 0xFFFF
        mov eax, cr0
        or eax, 4                       ; EM
        mov cr0, eax
        mov dword [resume], .after_fld  ; skip it: the handler does not clear EM
        fld1
.after_fld:
        mov eax, cr0
        and eax, ~4
        mov cr0, eax
        mov eax, [nexc]
        mov esi, msg_em
        call print
        call printhex
        mov eax, [last_vec]
        mov esi, msg_vec
        call print
        call printhex
        mov [n_em], eax
        mov esi, nl
        call print
        cmp dword [n_ts], 7
        jne .bad
        cmp dword [n_em], 7
        jne .bad
        push dword 0x10
        call exit
.bad:   push dword 0x11
        call exit
section .data
msg_ts: db "CR0.TS fninit: exceptions ", 0
msg_em: db ", CR0.EM fld1: exceptions ", 0
msg_vec: db " vector ", 0
nl:     db 10, 0
n_ts:   dd 0
n_em:   dd 0
