; tf_single_step.asm - repro: EFLAGS.TF set by popfd (and by iretd) must make
; the CPU raise #DB (vector 1) after each following instruction, up to and
; including the popfd that clears TF: 5 traps each under QEMU (exit 0x10).
%include "mini.inc"
main:
        mov dword [nexc], 0
        pushfd
        or dword [esp], 0x100
        popfd
        nop                             ; #DB after this
        nop                             ; and this
        pushfd                          ; and this
        and dword [esp], ~0x100         ; and this
        popfd                           ; and this (TF was still set)
        mov eax, [nexc]
        mov [n_popf], eax
        mov esi, msg_popf
        call print
        call printhex
        mov dword [nexc], 0
        pushfd
        or dword [esp], 0x100
        push cs
        push dword .t
        iretd
.t:     nop                             ; #DB after each of these 4
        nop
        pushfd
        and dword [esp], ~0x100
        popfd
        mov eax, [nexc]
        mov [n_iret], eax
        mov esi, msg_iret
        call print
        call printhex
        mov esi, nl
        call print
        cmp dword [n_popf], 5
        jne .bad
        cmp dword [n_iret], 5
        jne .bad
        push dword 0x10
        call exit
.bad:   push dword 0x11
        call exit
section .data
msg_popf: db "TF via popfd: #DB count ", 0
msg_iret: db ", TF via iretd: #DB count ", 0
nl:     db 10, 0
n_popf: dd 0
n_iret: dd 0
