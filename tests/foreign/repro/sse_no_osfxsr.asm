; sse_no_osfxsr.asm - repro: with CR4.OSFXSR=0 (as multiboot leaves it) SSE
; instructions such as xorps must raise #UD (vector 6). Exits 0x10 if so.
%include "mini.inc"
main:
        mov dword [nexc], 0
        mov dword [last_vec], 0xFFFF
        mov dword [resume], .after
        mov eax, cr4
        mov esi, msg_cr4
        call print
        call printhex
        xorps xmm0, xmm0
.after: mov dword [resume], 0
        mov eax, [nexc]
        mov esi, msg_n
        call print
        call printhex
        mov eax, [last_vec]
        mov esi, msg_vec
        call print
        call printhex
        mov esi, nl
        call print
        cmp dword [last_vec], 6
        jne .bad
        push dword 0x10
        call exit
.bad:   push dword 0x11
        call exit
section .data
msg_cr4: db "cr4 ", 0
msg_n:  db ", xorps: exceptions ", 0
msg_vec: db " vector ", 0
nl:     db 10, 0
