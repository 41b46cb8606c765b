; cpuid_probe.asm - probe: what a boot banner prints from CPUID: vendor string,
; leaf 1 EAX (signature) and EDX (features), and the max extended leaf.
%include "mini.inc"
main:
        xor eax, eax
        cpuid
        mov [vendor], ebx
        mov [vendor + 4], edx
        mov [vendor + 8], ecx
        mov [maxleaf], eax
        mov esi, m_v
        call print
        mov esi, vendor
        call print
        mov eax, [maxleaf]
        mov esi, m_max
        call print
        call printhex
        mov eax, 1
        cpuid
        mov [f_edx], edx
        mov [f_ecx], ecx
        mov esi, m_sig
        call print
        call printhex
        mov eax, [f_edx]
        mov esi, m_edx
        call print
        call printhex
        mov eax, [f_ecx]
        mov esi, m_ecx
        call print
        call printhex
        mov eax, 0x80000000
        cpuid
        mov esi, m_ext
        call print
        call printhex
        mov esi, nl
        call print
        push dword 0x10
        call exit
section .data
m_v:    db "vendor ", 0
m_max:  db " max leaf ", 0
m_sig:  db " sig ", 0
m_edx:  db " edx ", 0
m_ecx:  db " ecx ", 0
m_ext:  db " ext ", 0
nl:     db 10, 0
vendor: times 13 db 0
maxleaf: dd 0
f_edx:  dd 0
f_ecx:  dd 0
