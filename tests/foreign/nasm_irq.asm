; nasm_irq.asm - foreign multiboot guest in pure NASM: own GDT (odd selectors, based stack/code
; segments), 256-entry IDT, PIC at 0x30/0x38, PIT mode 3 at 100 Hz, nested interrupts, SMC and
; interrupt-driven UART output. Exit via out dx,eax to 0xF4: 0x10 pass (status 33), 0x11.. failures.

bits 32

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0x00000003          ; page-align modules, want memory info
BOOT_MAGIC      equ 0x2BADB002

SEL_CODE16      equ 0x08                ; never used: just makes the layout unusual
SEL_NOTPRESENT  equ 0x10
SEL_DATA3       equ 0x18
SEL_CODEB       equ 0x20                ; 32-bit code, base = smc_area, limit 4 KiB
SEL_CODE        equ 0x28
SEL_DATA        equ 0x30
SEL_STACK       equ 0x38                ; base = stack_lo, byte limit STACK_SIZE-1
SEL_CODEWIN     equ 0x40                ; base = smc_area, limit 4 KiB
SEL_SCRATCH     equ 0x48                ; base = scratch page, limit 4 KiB

STACK_SIZE      equ 0x4000

COM1            equ 0x3F8
PIC1            equ 0x20
PIC2            equ 0xA0
VEC_IRQ0        equ 0x30
VEC_IRQ4        equ 0x34
VEC_IRQ7        equ 0x37
VEC_IRQ15       equ 0x3F
VEC_SW          equ 0x70

PIT_HZ          equ 100
PIT_DIVISOR     equ (1193182 + PIT_HZ/2) / PIT_HZ

; failure codes
F_UNEXPECTED    equ 0x11
F_MAGIC         equ 0x12
F_STACKBASE     equ 0x13
F_ISR           equ 0x14
F_SWINT_IF      equ 0x15
F_SWINT_FRAME   equ 0x16
F_NESTED        equ 0x17
F_TRAPGATE      equ 0x18
F_SMC_JMP_PRE   equ 0x19
F_SMC_JMP_POST  equ 0x1A
F_SMC_MOV       equ 0x1B
F_SMC_SAME      equ 0x1C
F_SMC_LOOP      equ 0x1D
F_SMC_REPMOVS   equ 0x1E
F_BUSY          equ 0x1F
F_SEGREGS       equ 0x20
F_FAR           equ 0x21
F_BASEDCODE     equ 0x22
F_POPF_IRQ      equ 0x23
F_STI_SHADOW    equ 0x24
F_STI_IRQ       equ 0x25
F_IRET_IRQ      equ 0x26

; ---------------------------------------------------------------------------
section .multiboot progbits alloc noexec nowrite align=4
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)

; ---------------------------------------------------------------------------
section .text
global _start
_start:
        cli
        cld
        mov esp, boot_stack_top         ; loader's flat SS; no stack promised
        cmp eax, BOOT_MAGIC
        je .magic_ok
        mov al, F_MAGIC
        mov esi, msg_magic
        jmp fail_polled
.magic_ok:
        call uart_init
        mov esi, msg_hello
        call puts_polled

        ; --- GDT: fill the based descriptors at run time, then load it ---
        mov edi, gdt + SEL_STACK
        mov eax, stack_lo
        mov ebx, STACK_SIZE - 1
        mov dx, 0x4092                  ; byte granular, 32-bit, present data rw
        call set_desc
        mov edi, gdt + SEL_CODEWIN
        mov eax, smc_area
        mov ebx, 0xFFF
        mov dx, 0x4092
        call set_desc
        mov edi, gdt + SEL_CODEB
        mov eax, smc_area
        mov ebx, 0xFFF
        mov dx, 0x409A                  ; byte granular, 32-bit, code rx
        call set_desc
        mov edi, gdt + SEL_SCRATCH
        mov eax, scratch
        mov ebx, 0xFFF
        mov dx, 0x4092
        call set_desc
        lgdt [gdt_ptr]
        ; far return into the new code segment
        push dword SEL_CODE
        push dword .reloaded
        retf
.reloaded:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ax, SEL_STACK
        mov ss, ax
        mov esp, STACK_SIZE             ; top of the based stack

        ; the stack really is based: a push lands at stack_lo + esp
        push dword 0xC0DEF00D
        mov eax, esp
        cmp dword [stack_lo + eax], 0xC0DEF00D
        pop eax
        je .stack_ok
        mov al, F_STACKBASE
        mov esi, msg_stackbase
        jmp fail_polled
.stack_ok:
        mov ax, cs
        cmp ax, SEL_CODE
        jne .segs_bad
        mov ax, ss
        cmp ax, SEL_STACK
        je .segs_ok
.segs_bad:
        mov al, F_SEGREGS
        mov esi, msg_segregs
        jmp fail_polled
.segs_ok:
        call idt_init
        call pic_init
        call pit_init

        ; from here on, output goes through the interrupt-driven ring
        sti
        mov esi, msg_irq_on
        call puts

        call test_far
        call test_trap_gate
        call test_hlt_phase
        call test_busy_phase
        call test_nested
        call test_smc_jmp_pre
        call test_smc_jmp_post
        call test_smc_mov
        call test_smc_same_block
        call test_smc_loop
        call test_smc_repmovs
        call test_based_code
        call test_irq_timing
        call test_bulk

        cmp dword [isr_bad], 0
        je .isr_ok
        mov al, F_ISR
        mov esi, msg_isr
        jmp fail
.isr_ok:
        mov esi, msg_pass
        call puts
        call flush
        cli
        mov dx, 0xF4
        mov eax, 0x10
        out dx, eax
.dead:  hlt
        jmp .dead

; ---------------------------------------------------------------------------
; set_desc: edi -> GDT slot, eax = base, ebx = 20-bit limit, dl = access,
; dh = flags in the high nibble
set_desc:
        mov [edi], bx
        mov [edi + 2], ax
        shr eax, 16
        mov [edi + 4], al
        mov [edi + 5], dl
        shr ebx, 16
        and bl, 0x0F
        or bl, dh
        mov [edi + 6], bl
        mov [edi + 7], ah
        ret

; ---------------------------------------------------------------------------
; IDT: 256 stubs 16 bytes apart; exceptions are trap gates, the rest interrupt
; gates; a few vectors get their own handlers.
idt_init:
        xor ecx, ecx
        mov ebx, isr_stubs
.fill:
        mov eax, ebx
        mov [idt + ecx*8], ax
        mov word [idt + ecx*8 + 2], SEL_CODE
        mov byte [idt + ecx*8 + 4], 0
        mov byte [idt + ecx*8 + 5], 0x8E
        cmp ecx, 32
        jae .intgate
        mov byte [idt + ecx*8 + 5], 0x8F
.intgate:
        shr eax, 16
        mov [idt + ecx*8 + 6], ax
        add ebx, 16
        inc ecx
        cmp ecx, 256
        jb .fill

        mov eax, irq0_handler
        mov ecx, VEC_IRQ0
        call set_gate
        mov eax, irq4_handler
        mov ecx, VEC_IRQ4
        call set_gate
        mov eax, spurious_master
        mov ecx, VEC_IRQ7
        call set_gate
        mov eax, spurious_slave
        mov ecx, VEC_IRQ15
        call set_gate
        mov eax, swint_handler
        mov ecx, VEC_SW
        call set_gate
        lidt [idt_ptr]
        ret

; eax = handler, ecx = vector: keeps the gate type
set_gate:
        mov [idt + ecx*8], ax
        shr eax, 16
        mov [idt + ecx*8 + 6], ax
        ret

; ---------------------------------------------------------------------------
pic_init:
        mov al, 0x11                    ; ICW1: edge, cascade, ICW4 needed
        out PIC1, al
        out PIC2, al
        mov al, VEC_IRQ0
        out PIC1 + 1, al                ; ICW2
        mov al, VEC_IRQ0 + 8
        out PIC2 + 1, al
        mov al, 0x04                    ; ICW3: slave on IR2
        out PIC1 + 1, al
        mov al, 0x02
        out PIC2 + 1, al
        mov al, 0x01                    ; ICW4: 8086 mode, normal EOI
        out PIC1 + 1, al
        out PIC2 + 1, al
        mov al, 0xEE                    ; unmask IRQ0 and IRQ4 only
        out PIC1 + 1, al
        mov al, 0xFF
        out PIC2 + 1, al
        ret

pit_init:
        mov al, 0x36                    ; channel 0, lo/hi, mode 3, binary
        out 0x43, al
        mov al, PIT_DIVISOR & 0xFF
        out 0x40, al
        mov al, PIT_DIVISOR >> 8
        out 0x40, al
        ret

; ---------------------------------------------------------------------------
; UART: 115200 8N1, FIFO on, OUT2 so the IRQ reaches the PIC; IER stays 0
; until the ring has something to send.
uart_init:
        mov dx, COM1 + 1
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x80
        out dx, al
        mov dx, COM1
        mov al, 1
        out dx, al
        mov dx, COM1 + 1
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03
        out dx, al
        mov dx, COM1 + 2
        mov al, 0xC7
        out dx, al
        mov dx, COM1 + 4
        mov al, 0x0B
        out dx, al
        ret

; polled output, used before interrupts work and for failures
putc_polled:                            ; al = char
        push edx
        push eax
        mov dx, COM1 + 5
.w:     in al, dx
        test al, 0x20
        jz .w
        pop eax
        mov dx, COM1
        out dx, al
        pop edx
        ret

puts_polled:                            ; esi = string (DS)
        push eax
        push esi
.l:     lodsb
        test al, al
        jz .d
        call putc_polled
        jmp .l
.d:     pop esi
        pop eax
        ret

; interrupt-driven output: put al in the ring; if the transmitter is idle,
; enabling the THRE interrupt with an empty THR raises IRQ4 at once.
putc:
        push ebx
        push edx
        pushfd
.retry:
        cli
        mov ebx, [tx_head]
        lea edx, [ebx + 1]
        and edx, 0xFF
        cmp edx, [tx_tail]
        jne .room
        sti                             ; full: let IRQ4 drain it
        hlt
        jmp .retry
.room:
        mov [tx_buf + ebx], al
        mov [tx_head], edx
        cmp byte [tx_active], 0
        jne .out
        mov byte [tx_active], 1
        push eax
        mov dx, COM1 + 1
        mov al, 0x02
        out dx, al
        pop eax
.out:
        popfd
        pop edx
        pop ebx
        ret

puts:
        push eax
        push esi
.l:     lodsb
        test al, al
        jz .d
        call putc
        jmp .l
.d:     pop esi
        pop eax
        ret

; wait until the ring is empty and the shift register is done
flush:
.w:     cli
        cmp byte [tx_active], 0
        je .d
        sti
        hlt
        jmp .w
.d:     sti
        mov dx, COM1 + 5
.t:     in al, dx
        test al, 0x40
        jz .t
        ret

; ---------------------------------------------------------------------------
; failures: al = code, esi = message. fail drains nothing: polled output.
fail:
fail_polled:
        cli
        push eax
        mov ax, SEL_DATA                ; may come from anywhere
        mov ds, ax
        mov es, ax
        push esi
        mov esi, msg_fail
        call puts_polled
        pop esi
        call puts_polled
        mov al, 10
        call putc_polled
        mov dx, COM1 + 5
.t:     in al, dx
        test al, 0x40
        jz .t
        pop eax
        movzx eax, al
        mov dx, 0xF4
        out dx, eax
.dead:  hlt
        jmp .dead

; ---------------------------------------------------------------------------
; interrupt handlers

; IRQ0: check that the PIC has exactly IRQ0 in service, count, EOI.
irq0_handler:
        push eax
        push ds
        mov ax, SEL_DATA                ; interrupted code may have another DS
        mov ds, ax
        mov al, 0x0B                    ; OCW3: read ISR
        out PIC1, al
        in al, PIC1
        cmp al, 0x01
        je .isr_ok
        movzx eax, al
        or eax, 0x100
        mov [isr_bad], eax
.isr_ok:
        mov al, 0x0A                    ; OCW3: back to IRR
        out PIC1, al
        inc dword [ticks]
        mov al, 0x20
        out PIC1, al
        pop ds
        pop eax
        iretd

; IRQ4: feed THR from the ring while IIR says THRE; disable THRE when empty.
irq4_handler:
        pushad
        push ds
        mov ax, SEL_DATA
        mov ds, ax
.next:
        mov dx, COM1 + 2
        in al, dx
        test al, 0x01
        jnz .done
        and al, 0x0E
        cmp al, 0x02
        jne .other
        mov ecx, 16                     ; FIFO depth
.send:
        mov ebx, [tx_tail]
        cmp ebx, [tx_head]
        je .empty
        mov al, [tx_buf + ebx]
        mov dx, COM1
        out dx, al
        inc ebx
        and ebx, 0xFF
        mov [tx_tail], ebx
        dec ecx
        jnz .send
        jmp .next
.empty:
        mov dx, COM1 + 1
        xor al, al
        out dx, al
        mov byte [tx_active], 0
        jmp .next
.other:                                 ; nothing else is enabled; clear anyway
        mov dx, COM1 + 5
        in al, dx
        mov dx, COM1
        in al, dx
        mov dx, COM1 + 6
        in al, dx
        jmp .next
.done:
        mov al, 0x20
        out PIC1, al
        pop ds
        popad
        iretd

spurious_master:                        ; no EOI for a spurious IRQ7
        iretd
spurious_slave:
        push eax
        mov al, 0x20
        out PIC1, al
        pop eax
        iretd

; int 0x70 through an interrupt gate: IF must be clear on entry; enable
; interrupts and wait for ticks (busy, then hlt) inside the handler.
swint_handler:
        push eax
        push ebx
        pushfd
        pop eax
        test eax, 0x200
        jz .if_ok
        mov byte [sw_if_bad], 1
.if_ok:
        ; frame: [esp+8] eip, [esp+12] cs, [esp+16] eflags
        cmp dword [esp + 12], SEL_CODE
        jne .frame_bad
        test dword [esp + 16], 0x200
        jnz .frame_ok
.frame_bad:
        mov byte [sw_frame_bad], 1
.frame_ok:
        mov eax, [ticks]
        mov [sw_start], eax
        sti
.busy:  cmp eax, [ticks]
        je .busy
        lea ebx, [eax + 3]
.halt:  hlt
        cmp [ticks], ebx
        jb .halt
        cli
        mov eax, [ticks]
        mov [sw_end], eax
        pop ebx
        pop eax
        iretd

; all other vectors: [esp] vector, [esp+4] error code, then the CPU frame
isr_common:
        cmp dword [esp], 3
        je .breakpoint
        cli
        mov ax, SEL_DATA
        mov ds, ax
        mov esi, msg_unexpected
        call puts_polled
        mov eax, [esp]
        mov ecx, 2
        call hex_polled
        mov esi, msg_err
        call puts_polled
        mov eax, [esp + 4]
        mov ecx, 8
        call hex_polled
        mov esi, msg_eip
        call puts_polled
        mov eax, [esp + 8]
        mov ecx, 8
        call hex_polled
        mov al, F_UNEXPECTED
        mov esi, msg_empty
        jmp fail_polled
.breakpoint:                            ; trap gate: IF stays as it was
        push eax
        pushfd
        pop eax
        mov [bp_flags], eax
        mov eax, [esp + 4 + 16]
        mov [bp_frame_flags], eax
        mov eax, [esp + 4 + 8]
        mov [bp_eip], eax
        inc dword [bp_count]
        pop eax
        add esp, 8
        iretd

hex_polled:                             ; eax, ecx digits
        push ebx
        mov ebx, eax
.l:     mov eax, ebx
        lea edx, [ecx*4 - 4]
        push ecx
        mov cl, dl
        shr eax, cl
        pop ecx
        and eax, 0xF
        mov al, [hexdigits + eax]
        call putc_polled
        dec ecx
        jnz .l
        pop ebx
        ret

; ---------------------------------------------------------------------------
; tests

test_trap_gate:
        mov dword [bp_count], 0
        int3
.after:
        cmp dword [bp_count], 1
        jne .bad
        test dword [bp_flags], 0x200    ; trap gate: IF still set inside
        jz .bad
        test dword [bp_frame_flags], 0x200
        jz .bad
        cmp dword [bp_eip], .after      ; #BP is a trap: EIP after int3
        jne .bad
        mov esi, msg_trapgate
        jmp puts
.bad:
        mov al, F_TRAPGATE
        mov esi, msg_trapgate_bad
        jmp fail

; sti; hlt until 20 ticks
test_hlt_phase:
.w:     cli
        cmp dword [ticks], 20
        jae .d
        sti
        hlt
        jmp .w
.d:     sti
        mov esi, msg_hlt
        jmp puts

; busy loop with interrupts on, DS pointing at the scratch window and ticks
; read through FS, until 20 more ticks
test_busy_phase:
        push ds
        mov ebx, [ticks]
        add ebx, 20
        mov ax, SEL_SCRATCH
        mov ds, ax
        mov dword [0], 0
.l:     inc dword [0]
        mov eax, [fs:ticks]
        cmp eax, ebx
        jb .l
        mov ax, ds
        pop ds
        cmp ax, SEL_SCRATCH             ; IRQ handlers must give our DS back
        jne .bad
        cmp dword [scratch], 0
        je .bad
        mov esi, msg_busy
        jmp puts
.bad:
        mov al, F_BUSY
        mov esi, msg_busy_bad
        jmp fail

test_nested:
        mov byte [sw_if_bad], 0
        mov byte [sw_frame_bad], 0
        mov eax, 0x12345678
        int VEC_SW
        cmp eax, 0x12345678
        jne .bad_frame
        pushfd
        pop ecx
        test ecx, 0x200                 ; iret restored IF
        jz .bad_frame
        cmp byte [sw_if_bad], 0
        jne .bad_if
        cmp byte [sw_frame_bad], 0
        jne .bad_frame
        mov eax, [sw_end]
        sub eax, [sw_start]
        cmp eax, 3
        jb .bad_nested
        mov esi, msg_nested
        jmp puts
.bad_if:
        mov al, F_SWINT_IF
        mov esi, msg_swint_if
        jmp fail
.bad_frame:
        mov al, F_SWINT_FRAME
        mov esi, msg_swint_frame
        jmp fail
.bad_nested:
        mov al, F_NESTED
        mov esi, msg_nested_bad
        jmp fail

; patch a jmp rel32 before it ever ran
test_smc_jmp_pre:
        mov eax, smc_j1_b
        sub eax, smc_j1 + 5
        mov [smc_j1 + 1], eax
        call smc_j1
        cmp eax, 'B'
        jne .bad
        mov esi, msg_smc_jmp_pre
        jmp puts
.bad:
        mov al, F_SMC_JMP_PRE
        mov esi, msg_smc_jmp_pre_bad
        jmp fail

; run a jmp, then retarget it several times, through DS and through the ES
; window onto the code page
test_smc_jmp_post:
        push es
        mov ax, SEL_CODEWIN
        mov es, ax
        mov ecx, 6                      ; rounds
.round:
        call smc_j2                     ; currently -> a
        cmp eax, 1
        jne .bad
        mov eax, smc_j2_b
        sub eax, smc_j2 + 5
        mov [smc_j2 + 1], eax           ; flat DS
        call smc_j2
        cmp eax, 2
        jne .bad
        mov eax, smc_j2_c
        sub eax, smc_j2 + 5
        mov [es:smc_j2 + 1 - smc_area], eax     ; through the window
        call smc_j2
        cmp eax, 3
        jne .bad
        mov eax, smc_j2_a
        sub eax, smc_j2 + 5
        mov [es:smc_j2 + 1 - smc_area], eax
        dec ecx
        jnz .round
        pop es
        mov esi, msg_smc_jmp_post
        jmp puts
.bad:
        pop es
        mov al, F_SMC_JMP_POST
        mov esi, msg_smc_jmp_post_bad
        jmp fail

; patch a mov imm32: before first run, after a run, and one byte only
test_smc_mov:
        mov dword [smc_m2 + 1], 0x0BADCAFE      ; never ran yet
        call smc_m2
        cmp eax, 0x0BADCAFE
        jne .bad
        call smc_m1
        cmp eax, 0x11111111
        jne .bad
        mov dword [smc_m1 + 1], 0x22222222
        call smc_m1
        cmp eax, 0x22222222
        jne .bad
        mov byte [smc_m1 + 2], 0x99
        call smc_m1
        cmp eax, 0x22229922
        jne .bad
        push es
        mov ax, SEL_CODEWIN
        mov es, ax
        mov edi, smc_m1 + 1 - smc_area
        mov eax, 0x33445566
        stosd                           ; ES:EDI store into code
        pop es
        call smc_m1
        cmp eax, 0x33445566
        jne .bad
        mov esi, msg_smc_mov
        jmp puts
.bad:
        mov al, F_SMC_MOV
        mov esi, msg_smc_mov_bad
        jmp fail

; a store into the very next instruction of the running block
test_smc_same_block:
        mov ecx, 1
.l:     call smc_same
        cmp eax, ecx
        jne .bad
        inc ecx
        cmp ecx, 8
        jbe .l
        mov esi, msg_smc_same
        jmp puts
.bad:
        mov al, F_SMC_SAME
        mov esi, msg_smc_same_bad
        jmp fail

; a loop that bumps the immediate of its own add every iteration
test_smc_loop:
        mov ebx, 3
.again:
        mov dword [smc_loop.ins + 2], 0
        mov ecx, 10
        call smc_loop
        cmp eax, 45                     ; 0 + 1 + ... + 9
        jne .bad
        dec ebx
        jnz .again
        mov esi, msg_smc_loop
        jmp puts
.bad:
        mov al, F_SMC_LOOP
        mov esi, msg_smc_loop_bad
        jmp fail

; rep movsb a new routine over an old one (ES = code window, interrupts on),
; call it, then put the old one back with rep movsd through flat ES
test_smc_repmovs:
        mov ebx, 4
.warm:  call smc_routine                ; get the old one translated
        cmp eax, 0xAAAA0001
        jne .bad
        dec ebx
        jnz .warm
        ; save the old routine
        mov esi, smc_routine
        mov edi, saved_routine
        mov ecx, ROUTINE_SLOT / 4
        rep movsd
        ; copy the new one in
        push es
        mov ax, SEL_CODEWIN
        mov es, ax
        mov esi, new_routine
        mov edi, smc_routine - smc_area
        mov ecx, new_routine_end - new_routine
        rep movsb
        pop es
        call smc_routine
        cmp eax, 0xBEEF0037
        jne .bad
        call smc_routine
        cmp eax, 0xBEEF0037
        jne .bad
        ; and back
        mov esi, saved_routine
        mov edi, smc_routine
        mov ecx, ROUTINE_SLOT / 4
        rep movsd
        call smc_routine
        cmp eax, 0xAAAA0001
        jne .bad
        mov esi, msg_smc_repmovs
        jmp puts
.bad:
        mov al, F_SMC_REPMOVS
        mov esi, msg_smc_repmovs_bad
        jmp fail

;far control transfers: indirect far jmp, direct far call + retf, iretd
test_far:
        jmp far [far_ptr]
        mov al, F_FAR                   ; not reached
        mov esi, msg_far_bad
        jmp fail
.landed:
        call SEL_CODE:.callee
        cmp eax, 0xFA4CA11
        jne .bad
        pushfd
        push dword SEL_CODE
        push dword .after_iret
        iretd
        jmp .bad
.after_iret:
        mov esi, msg_far
        jmp puts
.callee:
        mov eax, 0xFA4CA11
        retf
.bad:
        mov al, F_FAR
        mov esi, msg_far_bad
        jmp fail

; code running in a segment whose base is not 0: call offsets are relative
; to it, and a timer interrupt taken there must come back to it
test_based_code:
        call SEL_CODEB:(based_fn - smc_area)
        cmp eax, 0x600D
        jne .bad
        cmp ebx, based_fn.here - smc_area
        jne .bad
        cmp ecx, SEL_CODEB
        jne .bad
        mov esi, msg_based
        jmp puts
.bad:
        mov al, F_BASEDCODE
        mov esi, msg_based_bad
        jmp fail

; a pending IRQ0 must be taken right after popfd/iretd set IF, after the
; instruction following sti, and not at all across "sti; cli"
wait_irr0:                              ; IF=0: spin until IRQ0 is requested
        mov al, 0x0A
        out PIC1, al
.w:     in al, PIC1
        test al, 0x01
        jz .w
        ret

test_irq_timing:
        call flush
        cli
        call wait_irr0
        mov ebx, [ticks]
        push dword 0x202
        popfd
        mov eax, [ticks]
        cmp eax, ebx
        mov al, F_POPF_IRQ
        mov esi, msg_popf_bad
        je fail
        cli
        call wait_irr0
        mov ebx, [ticks]
        sti
        cli
        mov eax, [ticks]
        cmp eax, ebx
        mov al, F_STI_SHADOW
        mov esi, msg_sti_shadow_bad
        jne fail
        sti
        nop
        mov eax, [ticks]
        cmp eax, ebx
        mov al, F_STI_IRQ
        mov esi, msg_sti_bad
        je fail
        cli
        call wait_irr0
        mov ebx, [ticks]
        pushfd
        or dword [esp], 0x200
        push cs
        push dword .back
        iretd
.back:  mov eax, [ticks]
        cmp eax, ebx
        mov al, F_IRET_IRQ
        mov esi, msg_iret_bad
        je fail
        mov esi, msg_timing
        jmp puts

; more output than the ring holds, at once: putc waits for IRQ4 to drain it
test_bulk:
        mov ebx, 8
.line:  mov esi, msg_bulk
        call puts
        mov eax, ebx
        add al, '0'
        call putc
        mov ecx, 48
.ch:    mov eax, ecx
        and eax, 0xF
        mov al, [hexdigits + eax]
        call putc
        dec ecx
        jnz .ch
        mov al, 10
        call putc
        dec ebx
        jnz .line
        ret

; ---------------------------------------------------------------------------
; code that gets rewritten; its own page so the ES window can reach it
section .smc progbits alloc exec write align=4096
smc_area:
smc_j1:
        jmp strict near smc_j1_a
smc_j1_a:
        mov eax, 'A'
        ret
smc_j1_b:
        mov eax, 'B'
        ret

        align 16
smc_j2:
        jmp strict near smc_j2_a
smc_j2_a:
        mov eax, 1
        ret
smc_j2_b:
        mov eax, 2
        ret
smc_j2_c:
        mov eax, 3
        ret

        align 16
smc_m1:
        mov eax, strict dword 0x11111111
        ret
smc_m2:
        mov eax, strict dword 0x7FFFFFFF
        ret

        align 16
smc_same:                               ; ecx = value to plant
        mov [smc_same_ins + 1], ecx
smc_same_ins:
        mov eax, strict dword 0x7FFFFFFF
        ret

        align 16
smc_loop:                               ; ecx = n
        xor edx, edx
.l:
.ins:
        add edx, strict dword 0         ; 81 C2 imm32
        inc dword [smc_loop.ins + 2]
        dec ecx
        jnz .l
        mov eax, edx
        ret

; called far through SEL_CODEB: position independent, waits for a tick
        align 16
based_fn:
        call .here
.here:  pop ebx                         ; offset within the based segment
        mov ecx, cs
        mov eax, [ticks]
.wait:  cmp eax, [ticks]                ; DS is flat: absolute address works
        je .wait
        mov eax, 0x600D
        retf

ROUTINE_SLOT    equ 96
        align 16
smc_routine:
        mov eax, 0xAAAA0001
        ret
        times ROUTINE_SLOT - ($ - smc_routine) db 0xCC

; ---------------------------------------------------------------------------
section .data
align 8
gdt:
        dq 0                            ; 0x00 null
        dq 0x00009A000000FFFF           ; 0x08 16-bit code
        dq 0x00CF12000000FFFF           ; 0x10 not present
        dq 0x00CFF2000000FFFF           ; 0x18 DPL3 data
        dq 0                            ; 0x20 based code (filled in)
        dq 0x00CF9A000000FFFF           ; 0x28 flat code
        dq 0x00CF92000000FFFF           ; 0x30 flat data
        dq 0                            ; 0x38 stack (filled in)
        dq 0                            ; 0x40 code window (filled in)
        dq 0                            ; 0x48 scratch window (filled in)
gdt_end:

align 4
        dw 0
gdt_ptr:
        dw gdt_end - gdt - 1
        dd gdt
        dw 0
far_ptr:
        dd test_far.landed
        dw SEL_CODE
        dw 0
idt_ptr:
        dw 256*8 - 1
        dd idt

; the routine rep movsb copies over smc_routine: position independent
new_routine:
        xor eax, eax
        mov ecx, 10
.l:     add eax, ecx
        dec ecx
        jnz .l
        or eax, 0xBEEF0000
        ret
new_routine_end:

hexdigits:      db "0123456789ABCDEF"
msg_hello:      db "nasm_irq: polled hello", 10, 0
msg_irq_on:     db "nasm_irq: gdt idt pic pit up, output now via IRQ4", 10, 0
msg_trapgate:   db "trap gate int3: ok", 10, 0
msg_hlt:        db "sti;hlt phase 20 ticks: ok", 10, 0
msg_busy:       db "busy phase 20 more ticks: ok", 10, 0
msg_nested:     db "nested irq inside int 0x70: ok", 10, 0
msg_smc_jmp_pre: db "smc jmp patched before run: ok", 10, 0
msg_smc_jmp_post: db "smc jmp retargeted after runs: ok", 10, 0
msg_smc_mov:    db "smc mov imm32 patches: ok", 10, 0
msg_smc_same:   db "smc store into next insn: ok", 10, 0
msg_smc_loop:   db "smc self-bumping loop: ok", 10, 0
msg_smc_repmovs: db "smc rep movsb routine swap: ok", 10, 0
msg_far:        db "far jmp [mem], far call/retf, iretd: ok", 10, 0
msg_far_bad:    db "far control transfer wrong", 0
msg_based:      db "code segment with base != 0, irq inside: ok", 10, 0
msg_based_bad:  db "code in a based segment misbehaved", 0
msg_timing:     db "pending irq after popfd / sti;nop / iretd, none across sti;cli: ok", 10, 0
msg_popf_bad:   db "pending irq not taken right after popfd set IF", 0
msg_sti_shadow_bad: db "irq taken between sti and cli (interrupt shadow)", 0
msg_sti_bad:    db "pending irq not taken after sti; nop", 0
msg_iret_bad:   db "pending irq not taken right after iretd set IF", 0
msg_bulk:       db "bulk ", 0
msg_pass:       db "nasm_irq: PASS", 10, 0
msg_fail:       db "nasm_irq: FAIL ", 0
msg_magic:      db "bad multiboot magic", 0
msg_stackbase:  db "push did not land at stack base + esp", 0
msg_segregs:    db "cs/ss selectors wrong after reload", 0
msg_isr:        db "PIC ISR was not 0x01 inside the timer handler", 0
msg_swint_if:   db "IF set on entry through an interrupt gate", 0
msg_swint_frame: db "int 0x70 frame or registers wrong", 0
msg_nested_bad: db "ticks did not advance inside int 0x70", 0
msg_trapgate_bad: db "int3 through a trap gate wrong", 0
msg_busy_bad:   db "busy phase: DS lost or scratch not written", 0
msg_smc_jmp_pre_bad: db "jmp patched before first run not honoured", 0
msg_smc_jmp_post_bad: db "jmp retargeted after running not honoured", 0
msg_smc_mov_bad: db "mov imm32 patch not honoured", 0
msg_smc_same_bad: db "store into next instruction not honoured", 0
msg_smc_loop_bad: db "self-bumping add loop wrong", 0
msg_smc_repmovs_bad: db "rep movsb routine swap wrong", 0
msg_unexpected: db "unexpected vector ", 0
msg_err:        db " err ", 0
msg_eip:        db " eip ", 0
msg_empty:      db 0

; ---------------------------------------------------------------------------
section .bss
alignb 4096
scratch:        resb 4096
stack_lo:       resb STACK_SIZE
boot_stack:     resb 1024
boot_stack_top:
alignb 8
idt:            resb 256*8
saved_routine:  resb ROUTINE_SLOT
tx_buf:         resb 256
tx_head:        resd 1
tx_tail:        resd 1
tx_active:      resb 1
sw_if_bad:      resb 1
sw_frame_bad:   resb 1
alignb 4
ticks:          resd 1
isr_bad:        resd 1
sw_start:       resd 1
sw_end:         resd 1
bp_count:       resd 1
bp_flags:       resd 1
bp_frame_flags: resd 1
bp_eip:         resd 1

; ---------------------------------------------------------------------------
; 256 stubs, 16 bytes apart: push a dummy error code where the CPU pushes
; none, push the vector, go to isr_common
section .text
align 16
isr_stubs:
%assign i 0
%rep 256
        align 16
%if i == 8 || (i >= 10 && i <= 14) || i == 17 || i == 21 || i == 29 || i == 30
        push strict dword i
%else
        push byte 0
        push strict dword i
%endif
        jmp isr_common
%assign i i+1
%endrep
