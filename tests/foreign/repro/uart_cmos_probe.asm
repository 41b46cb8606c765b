; uart_cmos_probe.asm - probe: what a driver's detection code reads: 16550A
; identification through IIR bits 7:6 with the FIFO on, scratch register,
; loopback echo, and CMOS status registers B/D (valid-RAM bit).
%include "mini.inc"
main:
        mov dx, 0x3FA
        mov al, 0xE7
        out dx, al
        in al, dx
        movzx eax, al
        mov esi, m_iir
        call print
        call printhex
        mov dx, 0x3FF
        mov al, 0x5A
        out dx, al
        in al, dx
        movzx eax, al
        mov esi, m_scr
        call print
        call printhex
        mov dx, 0x3FC                   ; loopback
        mov al, 0x1E
        out dx, al
        mov dx, 0x3F8
        mov al, 0xAE
        out dx, al
        mov dx, 0x3FD
        in al, dx
        mov [v_lsr], al
        mov dx, 0x3F8
        in al, dx
        mov [v_echo], al
        mov dx, 0x3FE
        in al, dx
        mov [v_msr], al
        mov dx, 0x3FC                   ; loopback off before printing
        mov al, 0x03
        out dx, al
        movzx eax, byte [v_lsr]
        mov esi, m_lsr
        call print
        call printhex
        movzx eax, byte [v_echo]
        mov esi, m_echo
        call print
        call printhex
        movzx eax, byte [v_msr]
        mov esi, m_msr
        call print
        call printhex
        mov esi, nl
        call print
        mov al, 0x0B
        out 0x70, al
        in al, 0x71
        movzx eax, al
        mov esi, m_b
        call print
        call printhex
        mov al, 0x0D
        out 0x70, al
        in al, 0x71
        movzx eax, al
        mov esi, m_d
        call print
        call printhex
        mov esi, nl
        call print
        push dword 0x10
        call exit
section .data
m_iir:  db "IIR after FCR=e7: ", 0
m_scr:  db " scratch: ", 0
m_lsr:  db " loopback LSR: ", 0
m_echo: db " echo: ", 0
m_msr:  db " MSR: ", 0
m_b:    db "CMOS B: ", 0
m_d:    db " CMOS D: ", 0
nl:     db 10, 0
v_lsr:  db 0
v_echo: db 0
v_msr:  db 0
