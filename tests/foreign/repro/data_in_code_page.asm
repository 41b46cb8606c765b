; data_in_code_page.asm - repro/perf probe: a hot loop that stores to a
; counter sitting in the same 4 KiB page as the loop itself (common when a
; kernel keeps variables in .text or links everything RWX). 200,000 stores
; (about 0.05 s of guest time under QEMU, several seconds under vmx).
%include "mini.inc"
main:
        mov ecx, 200000
.l:     inc dword [counter]
        dec ecx
        jnz .l
        mov eax, [counter]
        mov esi, msg
        call print
        call printhex
        mov esi, nl
        call print
        push dword 0x10
        call exit
counter: dd 0                           ; in .text, next to the loop
msg:    db "counter = ", 0
nl:     db 10, 0
