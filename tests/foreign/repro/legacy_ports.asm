; legacy_ports.asm - repro: PC ports hobby kernels poll at boot: i8042 status
; (0x64, "wait while bit 1"), system control A (0x92, fast A20), port B (0x61,
; PIT channel 2 gate/OUT). Prints what each reads and times channel 2 mode 0.
%include "mini.inc"
main:
        mov esi, m64
        call print
        in al, 0x64
        movzx eax, al
        call printhex
        mov esi, m92
        call print
        in al, 0x92
        movzx eax, al
        call printhex
        mov esi, m61
        call print
        in al, 0x61
        and al, 0x0F                    ; bits 4 (refresh) and 5 (the unprogrammed
                                        ; channel 2's OUT) depend on when it is read
        movzx eax, al
        call printhex
        mov esi, nl
        call print
        ; PIT channel 2, mode 0, 10 ms, gate on, speaker off; poll OUT2 (0x61 bit 5)
        in al, 0x61
        and al, 0xFC
        or al, 0x01
        out 0x61, al
        mov al, 0xB0
        out 0x43, al
        mov al, 0x9C
        out 0x42, al
        mov al, 0x2E
        out 0x42, al
        mov ecx, 0
.w:     inc ecx
        jz .timeout
        in al, 0x61
        test al, 0x20
        jz .w
        mov esi, mok
        call print
        push dword 0x10
        call exit
.timeout:
        mov esi, mto
        call print
        push dword 0x11
        call exit
section .data
m64:    db "in 0x64 = ", 0
m92:    db ", in 0x92 = ", 0
m61:    db ", in 0x61 = ", 0
mok:    db "PIT channel 2 OUT went high via port 0x61", 10, 0
mto:    db "PIT channel 2 OUT never seen in port 0x61", 10, 0
nl:     db 10, 0
