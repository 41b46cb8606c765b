# The -cpu line under which QEMU shows the virtual CPU vmx gives its guests
# (DESIGN §6: qemu32 less PAE and the local APIC). Sourced by every
# script that runs a reference guest under QEMU.
QEMU_CPU=${QEMU_CPU:-qemu32,-pae,-apic}
