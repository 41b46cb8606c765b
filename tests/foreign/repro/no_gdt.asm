; no_gdt.asm - repro: a guest that never loads a GDT of its own (the multiboot
; spec says it must, but GRUB and QEMU leave a usable one) installs an IDT with
; the boot CS and executes int3. QEMU: handled, exit 0x10.
bits 32
section .multiboot progbits alloc noexec nowrite align=4
        dd 0x1BADB002, 0, -0x1BADB002
section .text
global _start
_start:
        mov esp, stack_top
        mov eax, bp_handler
        mov [idt + 3*8], ax
        mov word [idt + 3*8 + 2], cs
        mov word [idt + 3*8 + 4], 0x8F00
        shr eax, 16
        mov [idt + 3*8 + 6], ax
        lidt [idtr]
        int3
        mov esi, msg_ok
.p:     lodsb
        test al, al
        jz .x
        mov dx, 0x3F8
        out dx, al
        jmp .p
.x:     mov dx, 0xF4
        mov eax, [code]
        out dx, eax
        hlt
bp_handler:
        mov dword [code], 0x10
        iretd
section .data
idtr:   dw 4*8 - 1
        dd idt
code:   dd 0x11
msg_ok: db "int3 handled through the boot CS", 10, 0
section .bss
alignb 8
idt:    resb 4*8
        resb 4096
stack_top:
