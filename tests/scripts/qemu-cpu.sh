# The -cpu lines under which QEMU shows the virtual CPU vmx gives its guests
# (DESIGN §6: qemu32 less PAE): QEMU_CPU for vmx's default machine, -machine
# pc, with the local APIC; QEMU_CPU_ISAPC for -machine isapc, less the APIC
# too. Sourced by every script that runs a reference guest under QEMU.
QEMU_CPU=${QEMU_CPU:-qemu32,-pae}
QEMU_CPU_ISAPC=${QEMU_CPU_ISAPC:-qemu32,-pae,-apic}
