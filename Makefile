# Build, test and benchmark the VMM. `make` builds build/vmx; `make check`
# runs the unit tests (plain and ASan/UBSan) and every test guest under vmx
# and under qemu-system-i386; `make run` runs the demo guest.

CC      ?= gcc
BUILD   := build
# Debian packages the build and the tests need; `make deps` installs missing ones.
DEB_BUILD_PKGS := libzydis-dev libelf-dev libcmocka-dev libseccomp-dev gcc-multilib nasm cpio libjansson-dev libjs-chart.js
DEB_TEST_PKGS  := qemu-system-x86 gdb socat python3 jq clang libclang-rt-14-dev
# make check-driver: the headers the module is built against (the matching
# kernel image and busybox-static:amd64 are fetched with apt-get download).
DEB_DRIVER_PKGS := linux-headers-amd64

WARN    := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 $(WARN) -O2 -g -fno-stack-protector -Iinclude -Ibt
# The monitor is freestanding: no libc, and no SSE (it runs inside the
# guest's FPU context between callouts).
MON_CFLAGS  := $(BASE_CFLAGS) -ffreestanding -mgeneral-regs-only -fno-builtin
HOST_CFLAGS := $(BASE_CFLAGS) -Ivmx_userspace -Ivmm_driver -fPIE
LDLIBS      := -lZydis -lelf -lseccomp

MON_SRCS  := $(wildcard vmm/*.c vmm/devices/*.c bt/*.c shadow_mmu/*.c)
HOST_SRCS := $(wildcard vmx_userspace/*.c vmx_userspace/uworld/*.c) vmx_userspace/report/fragment_text.c vmx_userspace/report/pf_names.c
ASM_SRCS  := vmx_userspace/uworld/gate.S
MON_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(MON_SRCS))
HOST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HOST_SRCS)) $(patsubst %.S,$(BUILD)/obj/%.o,$(ASM_SRCS))

.PHONY: all deps check check-driver check-driver-full driver-try monitor-image unit unit-asan guest-tests cli-tests gdb-tests foreign-check userprog-native linux-check memtest-check memtest-pass fuzz fuzz-check hostfuzz-check hostfuzz-bins run run-demo bench bench-bt bench-mmu bench-nano bench-timer soak clean
all: $(BUILD)/vmx $(BUILD)/vmx-report

# Installs what is missing when run as root; otherwise says what to run.
deps: $(BUILD)/.deps-build
$(BUILD)/.deps-build:
	@./tests/scripts/deps.sh $(DEB_BUILD_PKGS)
	@mkdir -p $(BUILD) && touch $@
$(BUILD)/.deps-test: $(BUILD)/.deps-build
	@./tests/scripts/deps.sh $(DEB_TEST_PKGS)
	@touch $@

$(BUILD)/obj/%.o: %.c | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) $(if $(filter vmm/% bt/% shadow_mmu/%,$<),$(MON_CFLAGS),$(HOST_CFLAGS)) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: %.S | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -Iinclude -MMD -MP -c $< -o $@

$(BUILD)/vmx: $(MON_OBJS) $(HOST_OBJS)
	$(CC) -pie -o $@ $^ $(LDLIBS)

# The profile reader (vmx -profile's files): a host tool, not part of vmx.
REPORT_SRCS := $(wildcard vmx_userspace/report/*.c)
REPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(REPORT_SRCS))
$(BUILD)/vmx-report: $(REPORT_OBJS) $(BUILD)/obj/vmx_userspace/outfile.o
	$(CC) -pie -o $@ $^ -ljansson -lZydis

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- test guests ----
# Their objects wait for the packages (gcc-multilib) as every object does.
GUEST_ORDER := $(BUILD)/.deps-build
include tests/guests/guests.mk
# Guests whose sources exist (the list in guests.mk is the plan).
GUEST_ELFS := $(foreach g,$(GUEST_NAMES),$(if $(call guest_srcs,$(g)),$(GUEST_OUT)/$(g).elf))
$(GUEST_ELFS): | $(BUILD)/.deps-build

# ---- guests written as an outsider would (tests/foreign) ----
include tests/foreign/foreign.mk
FOREIGN_CHECKED := $(FOREIGN_ELFS) $(FOREIGN_REPRO_ELFS)
foreign-check: $(BUILD)/vmx $(FOREIGN_CHECKED) $(BUILD)/.deps-test
	@./tests/scripts/suite.sh foreign tests/foreign/run-foreign.sh $(BUILD)/vmx $(FOREIGN_CHECKED)
$(FOREIGN_ELFS) $(FOREIGN_REPRO_ELFS): | $(BUILD)/.deps-build
# (their objects too: nasm and gcc-multilib come with the packages)
$(FOREIGN_REPRO_ELFS:.elf=.o) $(FOREIGN_OBJ)/nasm_irq.o $(FOREIGN_OBJ)/c_o0.o $(FOREIGN_OBJ)/c_o0_start.o $(FOREIGN_OBJ)/c_os_exc.o: | $(BUILD)/.deps-build

# ---- unit tests (cmocka), each built plain and with ASan/UBSan ----
UNIT_CFLAGS := -std=gnu11 $(WARN) -O1 -g -Iinclude -Ibt -Ivmx_userspace -Ivmx_userspace/report -Ivmm -Ivmm_driver
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
DEV_SRCS    := vmm/stats.c vmm/iobus.c shadow_mmu/mmio.c $(wildcard vmm/devices/*.c)
BT_SRCS     := $(wildcard bt/*.c) vmm/stats.c
unit_srcs_test_devices      := $(DEV_SRCS)
unit_srcs_test_iobus        := $(DEV_SRCS)
unit_srcs_test_pc_devices   := $(DEV_SRCS)
unit_srcs_test_options      := vmx_userspace/options.c
unit_srcs_test_loader       := vmx_userspace/loader_multiboot.c vmx_userspace/loader_bzimage.c vmx_userspace/pc_memmap.c
unit_srcs_test_bzimage      := vmx_userspace/loader_bzimage.c vmx_userspace/pc_memmap.c
unit_srcs_test_stats_report := vmx_userspace/stats_report.c vmx_userspace/outfile.c vmm/stats.c
unit_srcs_test_outfile      := vmx_userspace/outfile.c
unit_srcs_test_profile      := vmx_userspace/profile_write.c vmx_userspace/outfile.c vmx_userspace/report/profile_read.c vmx_userspace/report/pf_names.c
unit_libs_test_profile      := -ljansson
unit_srcs_test_bt           := $(BT_SRCS)
unit_srcs_test_mmu          := shadow_mmu/mmu.c shadow_mmu/mmio.c vmm/stats.c
unit_srcs_test_vclock       := vmm/vclock.c $(DEV_SRCS)
unit_libs_test_loader       := -lelf
unit_srcs_test_dworld_pt    := vmm_driver/dworld/pt.c
unit_srcs_test_alu          := vmm/alu.c
unit_libs_test_bt           := -lZydis
# Runs translated code through the user-level world: the plain build only
# (a sanitizer cannot give the world the low 4 GiB).
unit_srcs_test_bt_exec      := $(BT_SRCS) vmx_userspace/uworld/uworld.c vmx_userspace/uworld/gate.S
unit_libs_test_bt_exec      := -lZydis
UNIT_PLAIN_ONLY := test_bt_exec
UNIT_NAMES := $(basename $(notdir $(wildcard tests/unit/test_*.c)))
UNIT_BINS  := $(patsubst %,$(BUILD)/unit/%,$(UNIT_NAMES))
UNIT_ASAN  := $(patsubst %,$(BUILD)/unit-asan/%,$(filter-out $(UNIT_PLAIN_ONLY),$(UNIT_NAMES)))

# Prerequisites name per-test variables, so they are expanded a second time.
.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c $$(unit_srcs_%) | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ $(unit_libs_$*) -lcmocka
$(BUILD)/unit-asan/%: tests/unit/%.c $$(unit_srcs_%) | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(unit_libs_$*) -lcmocka


SUITE := ./tests/scripts/suite.sh
unit: $(UNIT_BINS)
	@$(SUITE) unit ./tests/scripts/run-units.sh $(UNIT_BINS)
unit-asan: $(UNIT_ASAN)
	@$(SUITE) unit-asan ./tests/scripts/run-units.sh $(UNIT_ASAN)

guest-tests: $(BUILD)/vmx $(GUEST_ELFS) $(BUILD)/.deps-test
	@$(SUITE) guests ./tests/scripts/run-guests.sh $(BUILD)/vmx $(GUEST_ELFS)

cli-tests: $(BUILD)/vmx $(BUILD)/vmx-report $(GUEST_ELFS) include/tunables.h $(GUEST_OUT)/bench_loop.elf $(GUEST_OUT)/triple_fault.elf $(GUEST_OUT)/echo.elf $(GUEST_OUT)/poweroff.elf $(GUEST_OUT)/bench_mmu.elf
	@$(SUITE) cli ./tests/scripts/cli-tests.sh $(BUILD)/vmx $(GUEST_OUT)

# The gdb stub and the live monitor, driven by Debian's gdb and socat.
gdb-tests: $(BUILD)/vmx $(GUEST_OUT)/gdb_target.elf $(GUEST_OUT)/hello.elf $(BUILD)/.deps-test
	@$(SUITE) gdb ./tests/scripts/gdb-tests.sh $(BUILD)/vmx $(GUEST_OUT)/gdb_target.elf

# ---- differential fuzzing against QEMU (tests/fuzz) ----
# `make fuzz FUZZ_SECONDS=3600 [FUZZ_SEED=N]` runs random rounds for that
# long; `fuzz-check` (part of check) runs the corpus and two fixed-seed rounds.
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 300
FUZZ_SEED    ?=
FUZZ_HARNESS_OBJS := $(FUZZ_OUT)/obj/harness.c.o $(FUZZ_OUT)/obj/harness_run.S.o
$(FUZZ_OUT)/gen $(FUZZ_OUT)/minimize: $(FUZZ_OUT)/%: tests/fuzz/%.c | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $<
$(FUZZ_OUT)/obj/harness.c.o: tests/fuzz/harness.c tests/fuzz/harness.h | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Itests/fuzz -c $< -o $@
$(FUZZ_OUT)/obj/harness_run.S.o: tests/fuzz/harness_run.S tests/fuzz/harness.h | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -Itests/fuzz -c $< -o $@
FUZZ_ENV = VMX=$(BUILD)/vmx FUZZ_GEN=$(FUZZ_OUT)/gen FUZZ_MIN=$(FUZZ_OUT)/minimize FUZZ_OUT=$(FUZZ_OUT) \
	FUZZ_ASM="$(GUEST_CC) $(GUEST_ASFLAGS) -Itests/fuzz" FUZZ_LD="$(GUEST_LD) $(GUEST_LDFLAGS)" \
	FUZZ_OBJS="$(FUZZ_HARNESS_OBJS) $(GUEST_LIB_OBJS)"
FUZZ_DEPS := $(BUILD)/vmx $(FUZZ_OUT)/gen $(FUZZ_OUT)/minimize $(FUZZ_HARNESS_OBJS) $(GUEST_LIB_OBJS) $(BUILD)/.deps-test
fuzz: $(FUZZ_DEPS)
	@$(FUZZ_ENV) tests/fuzz/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_SEED)
fuzz-check: $(FUZZ_DEPS)
	@$(SUITE) fuzz env $(FUZZ_ENV) tests/fuzz/fuzz.sh check

# ---- fuzzing the host-side parsers (tests/fuzz/host): libFuzzer, clang ----
# The loaders, the option parser and vmx-report's readers under ASan/UBSan,
# each for HOSTFUZZ_SECONDS (and on its kept regression inputs) in check.
HOSTFUZZ         := $(BUILD)/hostfuzz
HOSTFUZZ_NAMES   := elf bzimage options profile stats
HOSTFUZZ_SECONDS ?= 10
CLANG            ?= clang
HOSTFUZZ_CFLAGS  := -std=gnu11 $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		    -Iinclude -Ibt -Ivmx_userspace -Ivmx_userspace/report
hostfuzz_srcs_elf     := vmx_userspace/loader_multiboot.c vmx_userspace/loader_bzimage.c vmx_userspace/pc_memmap.c
hostfuzz_libs_elf     := -lelf
hostfuzz_srcs_bzimage := vmx_userspace/loader_bzimage.c vmx_userspace/pc_memmap.c
hostfuzz_srcs_options := vmx_userspace/options.c
hostfuzz_srcs_profile := $(REPORT_SRCS) vmx_userspace/outfile.c
hostfuzz_libs_profile := -ljansson -lZydis
hostfuzz_srcs_stats   := $(REPORT_SRCS) vmx_userspace/outfile.c
hostfuzz_libs_stats   := -ljansson -lZydis
HOSTFUZZ_BINS := $(patsubst %,$(HOSTFUZZ)/fuzz_%,$(HOSTFUZZ_NAMES))
$(HOSTFUZZ)/fuzz_%: tests/fuzz/host/fuzz_%.c tests/fuzz/host/memfile.h $$(hostfuzz_srcs_%) | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CLANG) $(HOSTFUZZ_CFLAGS) -Dmain=vmx_report_main -o $@ $(filter %.c,$^) $(hostfuzz_libs_$*)
$(HOSTFUZZ)/seeds/.done: tests/fuzz/host/seeds.sh $(BUILD)/vmx $(GUEST_OUT)/hello.elf $(GUEST_OUT)/mb_low.elf \
		$(GUEST_OUT)/mb_modules.elf $(GUEST_OUT)/jcc.elf
	@./tests/fuzz/host/seeds.sh $(HOSTFUZZ)/seeds $(BUILD)/vmx $(GUEST_OUT) $(wildcard $(LINUX_OUT)/bzImage)
	@touch $@
hostfuzz-bins: $(HOSTFUZZ_BINS) $(HOSTFUZZ)/seeds/.done
# Skips (loudly) where clang cannot build libFuzzer harnesses; CI installs it.
hostfuzz-check: $(BUILD)/.deps-test
	@if CLANG=$(CLANG) ./tests/fuzz/host/have-libfuzzer.sh >$(BUILD)/.libfuzzer 2>&1; then \
		$(MAKE) --no-print-directory hostfuzz-bins && \
		FUZZ_PROFILE=$(HOSTFUZZ)/seeds/profile/hello.json \
		$(SUITE) parsers ./tests/fuzz/host/run.sh $(HOSTFUZZ) $(HOSTFUZZ_SECONDS) $(HOSTFUZZ_NAMES); \
	else \
		echo "SKIP parsers: clang cannot build libFuzzer harnesses here ($$(cat $(BUILD)/.libfuzzer));" \
		     "install Debian's clang and libclang-rt-14-dev (make deps)"; \
	fi

check: unit unit-asan guest-tests cli-tests gdb-tests foreign-check userprog-native fuzz-check hostfuzz-check memtest-check linux-check

# ---- the Linux guest (tests/linux): Debian's i386 kernel and busybox ----
LINUX_OUT := $(BUILD)/linux
LINUX_APPEND := console=ttyS0 panic=-1
# Fetched once from Debian's archive (delete build/linux to fetch again).
$(LINUX_OUT)/.fetched: | $(BUILD)/.deps-build
	@./tests/linux/fetch-guest.sh $(LINUX_OUT) && touch $@
$(LINUX_OUT)/bzImage $(LINUX_OUT)/busybox: $(LINUX_OUT)/.fetched
$(LINUX_OUT)/initrd-shell.cpio.gz: tests/linux/init-shell tests/linux/mkinitramfs.sh $(LINUX_OUT)/busybox
	@./tests/linux/mkinitramfs.sh $@ $(LINUX_OUT)/busybox tests/linux/init-shell
$(LINUX_OUT)/initrd-test.cpio.gz: tests/linux/init-test tests/linux/mkinitramfs.sh $(LINUX_OUT)/busybox $(LINUX_OUT)/userprog
	@./tests/linux/mkinitramfs.sh $@ $(LINUX_OUT)/busybox tests/linux/init-test $(LINUX_OUT)/userprog:/bin/userprog
# Last and alone: the guest kernel times its TSC against the PIT, and a
# busy host makes that harder for it (the world hides host preemption but
# not all of it).
linux-check: $(BUILD)/vmx $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-test.cpio.gz $(BUILD)/.deps-test \
	| unit unit-asan guest-tests cli-tests gdb-tests foreign-check userprog-native fuzz-check hostfuzz-check memtest-check
	@$(SUITE) linux ./tests/linux/run-linux-test.sh $(BUILD)/vmx $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-test.cpio.gz

# ---- memtest86+ (tests/memtest): Debian's package, fetched like Linux ----
MEMTEST_OUT := $(BUILD)/memtest
MEMTEST_IMG := $(MEMTEST_OUT)/memtest86+ia32.bin
$(MEMTEST_IMG): | $(BUILD)/.deps-build
	@./tests/memtest/fetch-memtest.sh $(MEMTEST_OUT)
# Every test before the bit-fade one, under vmx and QEMU (about 20 s).
memtest-check: $(BUILD)/vmx $(MEMTEST_IMG) $(BUILD)/.deps-test
	@$(SUITE) memtest ./tests/memtest/run-memtest-test.sh $(BUILD)/vmx $(MEMTEST_IMG)
# The whole first pass, bit fade included, under vmx (4 minutes or more: not
# in `make check`; .ci/run runs it).
memtest-pass: $(BUILD)/vmx $(MEMTEST_IMG) $(BUILD)/.deps-test
	@$(SUITE) memtest-pass ./tests/memtest/run-memtest-test.sh --pass $(BUILD)/vmx $(MEMTEST_IMG)

# README's first command: Debian's Linux to a busybox shell on this
# terminal. `exit`, Ctrl-D, `poweroff -f` or Ctrl-A x end it (status 0).
run: $(BUILD)/vmx $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-shell.cpio.gz
	@echo "make run: booting Debian's $$(cat $(LINUX_OUT)/kernel-version) kernel under vmx (Ctrl-A x quits)"
	@$(BUILD)/vmx -kernel $(LINUX_OUT)/bzImage -initrd $(LINUX_OUT)/initrd-shell.cpio.gz -append "$(LINUX_APPEND)"

# The demo guest passes by writing 0 to the debug-exit port: vmx exit
# status 1, as under QEMU. That is success here.
run-demo: $(BUILD)/vmx $(GUEST_OUT)/hello.elf
	@$(BUILD)/vmx -kernel $(GUEST_OUT)/hello.elf -append "demo" -stats -; st=$$?; \
	if [ $$st -eq 1 ]; then echo "make run-demo: the guest passed (vmx exit status 1: debug-exit value 0)"; \
	else echo "make run-demo: vmx exit status $$st" >&2; exit 1; fi

# Benchmarks (not tests): figures measured side by side in one run.
$(eval $(call GUEST_LINK_RULE,bench_loop))
$(eval $(call GUEST_LINK_RULE,triple_fault))
$(eval $(call GUEST_LINK_RULE,echo))
$(eval $(call GUEST_LINK_RULE,bench_mmu))
$(eval $(call GUEST_LINK_RULE,bench_nano))
$(eval $(call GUEST_LINK_RULE,poweroff))
# The gdb stub's target keeps its debug information (tests/scripts/gdb-tests.sh).
$(eval $(call GUEST_LINK_RULE,gdb_target))
$(GUEST_OBJ)/gdb_target.c.o: GUEST_CFLAGS += -g -O1
$(BUILD)/bench/native_loop: tests/bench/native_loop.c tests/bench/bench_kernel.h | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -m32 -O2 -o $@ $<
bench-bt: $(BUILD)/vmx $(GUEST_OUT)/bench_loop.elf $(GUEST_OUT)/tc_pressure.elf $(BUILD)/bench/native_loop $(BUILD)/.deps-test
	@./tests/scripts/bench-bt.sh $(BUILD)/vmx

bench-mmu: $(BUILD)/vmx $(GUEST_OUT)/bench_mmu.elf $(BUILD)/.deps-test
	@./tests/scripts/bench-mmu.sh $(BUILD)/vmx

# The Adams & Agesen nanobenchmark table: the bench_nano guest under every
# -mode and QEMU TCG, beside the same operations natively (not a test).
# Not PIE: its signal restorer calls the vDSO through an absolute address.
$(BUILD)/bench/native_nano: tests/bench/native_nano.c tests/guests/bench_nano/nano.h | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -m32 -O2 $(WARN) -fno-pie -no-pie -o $@ $<

# ---- the user program of the Linux guest test (tests/linux) ----
# Static i386, so it runs from an initramfs with no libraries; `make check`
# runs it natively too, which keeps the program itself honest.
$(LINUX_OUT)/userprog: tests/linux/userprog.c | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -m32 -static -O2 $(WARN) -o $@ $< -lm
userprog-native: $(LINUX_OUT)/userprog
	@./tests/scripts/run-userprog.sh $<
bench-timer: $(BUILD)/vmx $(GUEST_OUT)/bench_loop.elf $(BUILD)/.deps-test
	@./tests/scripts/bench-timer.sh $(BUILD)/vmx

# ---- make bench: workloads inside the Linux guest (tests/linux/run-bench.sh) ----
# The same static i386 program runs in the guest under vmx and QEMU and
# natively; about three minutes: one vmx boot per workload and mode.
$(LINUX_OUT)/bench: tests/linux/bench.c tests/linux/bench-end.c | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -m32 -static -O2 $(WARN) -o $@ $^
$(LINUX_OUT)/initrd-bench.cpio.gz: tests/linux/init-bench tests/linux/mkinitramfs.sh $(LINUX_OUT)/busybox $(LINUX_OUT)/bench
	@./tests/linux/mkinitramfs.sh $@ $(LINUX_OUT)/busybox tests/linux/init-bench $(LINUX_OUT)/bench:/bin/bench
bench: $(BUILD)/vmx $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-bench.cpio.gz $(LINUX_OUT)/bench $(BUILD)/.deps-test
	@./tests/linux/run-bench.sh $(BUILD)/vmx $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-bench.cpio.gz $(LINUX_OUT)/bench
# `make soak [MINUTES=N]` (not part of check): the soak guest under vmx for
# N minutes; vmx's RSS, descriptors and mappings must stay flat and the
# guest must keep printing (tests/scripts/soak.sh, SOAK.md).
MINUTES ?= 2
$(eval $(call GUEST_LINK_RULE,soak))
soak: $(BUILD)/vmx $(GUEST_OUT)/soak.elf
	@./tests/scripts/soak.sh $(BUILD)/vmx $(GUEST_OUT)/soak.elf $(MINUTES)

# ---- the driver world (vmm_driver/), tested inside QEMU (tests/driver) ----
# Not part of `make check`: it boots Debian's amd64 kernel under TCG with
# vmmon.ko and the /dev/vmmon tests in an initramfs, once per host
# configuration (4-level paging with the full set; PTI and 5-level paging
# with one test); check-driver-full runs the long fuzz and endurance sets.
DRIVER_OUT  := $(BUILD)/driver
DRIVER_HOST := $(DRIVER_OUT)/host
DRIVER_PROGS := vmmon_test vmmon_fuzz vmmon_endure limit_probe
DRIVER_BINS := $(patsubst %,$(DRIVER_OUT)/bin/%,$(DRIVER_PROGS))
$(BUILD)/.deps-driver: $(BUILD)/.deps-test
	@./tests/scripts/deps.sh $(DEB_DRIVER_PKGS)
	@touch $@
$(DRIVER_HOST)/.fetched: $(BUILD)/.deps-driver
	@./tests/driver/fetch-host.sh $(DRIVER_HOST) && touch $@
# kbuild writes its objects next to the sources: build a copy in build/.
VMMON_SRCS := $(wildcard vmm_driver/*.c vmm_driver/*.h vmm_driver/*.S) vmm_driver/Kbuild
$(DRIVER_OUT)/vmmon/vmmon.ko: $(VMMON_SRCS) $(DRIVER_HOST)/.fetched
	@rm -rf $(DRIVER_OUT)/vmmon && mkdir -p $(DRIVER_OUT)/vmmon && cp $(VMMON_SRCS) $(DRIVER_OUT)/vmmon/
	$(MAKE) -s -C $$(cat $(DRIVER_HOST)/headers) M=$(abspath $(DRIVER_OUT)/vmmon) modules
# (limit_probe is i386: the host's own CPU, asked in 32-bit code)
$(DRIVER_OUT)/bin/limit_probe: tests/driver/limit_probe.c | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -m32 -std=gnu11 $(WARN) -O2 -static -o $@ $<
$(DRIVER_OUT)/bin/%: tests/driver/%.c $(wildcard tests/driver/*.h) vmm_driver/vmmon_ioctl.h vmm_driver/xpage.h | $(BUILD)/.deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -Ivmm_driver -o $@ $<
# vmx itself runs there too, with the shared libraries ldd names and the
# test guests, under -world vmmon, against QEMU's output for each
# (tests/driver/expected.sh: ata gets a blank drive, echo console input);
# those needing modules, the test device or counted time are left out.
DRIVER_GUESTS := hello echo ata arith jcc string segments flags_if exceptions portio pit_irq irq_stress \
	cpuid_model cpuid_rdtsc bios_data firmware_state stack_edges wide_edges smc rmw_traced paging \
	pte_atomic page0 user_mode multitask call_gate task_switch isa_ud i8042 lapic ioapic fw_cfg \
	tc_pressure te_probe mb_low
DRIVER_GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(DRIVER_GUESTS))
# Runs in other modes (tests/driver/init: NAME@MODE[@APPEND]): direct
# execution, trap-and-emulate, and the escape process contained.
DRIVER_MODE_RUNS := multitask@bt-direct multitask@te multitask@bt-direct@escape
$(DRIVER_OUT)/expected/.done: tests/driver/expected.sh $(DRIVER_GUEST_ELFS) $(BUILD)/.deps-test
	@./tests/driver/expected.sh $(dir $@) $(DRIVER_GUEST_ELFS) && touch $@
$(DRIVER_OUT)/expected/linux.section: tests/driver/expected-linux.sh $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-test.cpio.gz $(BUILD)/.deps-test
	@mkdir -p $(dir $@) && ./tests/driver/expected-linux.sh $(LINUX_OUT)/bzImage $(LINUX_OUT)/initrd-test.cpio.gz $@
$(DRIVER_OUT)/initrd.cpio.gz: tests/driver/init tests/linux/mkinitramfs.sh $(GUEST_OUT)/bench_nano.elf $(DRIVER_OUT)/expected/linux.section $(DRIVER_OUT)/vmmon/vmmon.ko $(DRIVER_BINS) $(DRIVER_OUT)/monitor.elf $(BUILD)/vmx $(DRIVER_GUEST_ELFS) $(DRIVER_OUT)/expected/.done
	@echo $(DRIVER_GUESTS) $(DRIVER_MODE_RUNS) >$(DRIVER_OUT)/expected/list
	@./tests/linux/mkinitramfs.sh $@ $(DRIVER_HOST)/busybox tests/driver/init \
		$(DRIVER_OUT)/vmmon/vmmon.ko:/lib/vmmon.ko $(DRIVER_OUT)/monitor.elf:/lib/monitor.elf $(foreach p,$(DRIVER_PROGS),$(DRIVER_OUT)/bin/$(p):/bin/$(p)) \
		$(BUILD)/vmx:/bin/vmx $$(ldd $(BUILD)/vmx | awk '$$2 == "=>" && $$3 ~ /^\// { print $$3 ":" $$3 } $$1 ~ /^\/.*ld-linux/ { print $$1 ":" $$1 }') \
		$(foreach g,$(DRIVER_GUESTS),$(GUEST_OUT)/$(g).elf:/build/guests/$(g).elf $(DRIVER_OUT)/expected/$(g).out:/expected/$(g).out $(DRIVER_OUT)/expected/$(g).st:/expected/$(g).st) \
		$(DRIVER_OUT)/expected/list:/expected/list $(DRIVER_OUT)/expected/echo.in:/expected/echo.in \
		$(DRIVER_OUT)/expected/multitask+escape.out:/expected/multitask+escape.out \
		$(DRIVER_OUT)/expected/multitask+escape.st:/expected/multitask+escape.st \
		$(GUEST_OUT)/bench_nano.elf:/build/guests/bench_nano.elf \
		$(LINUX_OUT)/bzImage:/linux/bzImage $(LINUX_OUT)/initrd-test.cpio.gz:/linux/initrd-test.cpio.gz \
		$(DRIVER_OUT)/expected/linux.section:/expected/linux.section
# The monitor image of the driver world: the same vmm/, bt/ and shadow_mmu/
# sources built a second time (no red zone: interrupts share the monitor's
# stack), with the world of vmm_driver/dworld/ and Zydis's decoder built
# freestanding (ZYAN_NO_LIBC) from Debian's source package, fetched into
# build/ (vmm_driver/fetch-zydis.sh). Linked at DW_IMAGE_VA, nothing left
# undefined; check-driver loads it into a VM.
DW_OUT    := $(DRIVER_OUT)/mon
ZYDIS_SRC := $(DRIVER_OUT)/zydis/src
ZYDIS_DEC := Decoder DecoderData Mnemonic Register SharedData Utils MetaInfo Segment Zydis
DW_CFLAGS := $(MON_CFLAGS) -mno-red-zone -fPIE -fno-asynchronous-unwind-tables -Ivmm_driver -Ivmm_driver/dworld \
	-I$(ZYDIS_SRC)/include -I$(ZYDIS_SRC)/src -DZYAN_NO_LIBC -DZYDIS_STATIC_BUILD -DZYCORE_STATIC_BUILD
DW_SRCS   := $(MON_SRCS) $(wildcard vmm_driver/dworld/*.c)
DW_OBJS   := $(patsubst %.c,$(DW_OUT)/obj/%.o,$(DW_SRCS)) $(DW_OUT)/obj/vmm_driver/dworld/entry.o \
	$(DW_OUT)/obj/vmm_driver/dworld/gate.o \
	$(patsubst %,$(DW_OUT)/zydis/%.o,$(ZYDIS_DEC))
$(DRIVER_OUT)/zydis/.fetched: | $(BUILD)/.deps-build
	@./vmm_driver/fetch-zydis.sh $(DRIVER_OUT)/zydis && touch $@
$(DW_OUT)/obj/%.o: %.c $(DRIVER_OUT)/zydis/.fetched
	@mkdir -p $(dir $@)
	$(CC) $(DW_CFLAGS) -MMD -MP -c $< -o $@
$(DW_OUT)/obj/%.o: %.S $(wildcard include/*.h include/*.S)
	@mkdir -p $(dir $@)
	$(CC) -Iinclude -c $< -o $@
$(DW_OUT)/zydis/%.o: $(DRIVER_OUT)/zydis/.fetched
	@mkdir -p $(dir $@)
	$(CC) $(DW_CFLAGS) -w -c $(ZYDIS_SRC)/src/$*.c -o $@
$(DRIVER_OUT)/monitor.elf: $(DW_OBJS) vmm_driver/dworld/monitor.ld
	ld -static -nostdlib -z noexecstack -z max-page-size=4096 -T vmm_driver/dworld/monitor.ld -o $@ $(DW_OBJS)
monitor-image: $(DRIVER_OUT)/monitor.elf
-include $(shell find $(DW_OUT)/obj -name '*.d' 2>/dev/null)
DRIVER_RUN := ./tests/driver/run-driver-test.sh $(DRIVER_HOST)/vmlinuz $(DRIVER_OUT)/initrd.cpio.gz $(DRIVER_OUT)/results
# Its two driver-world columns come from one boot of the check-driver host
# (QEMU x86-64, software emulation) running the guest in both worlds.
bench-nano: $(BUILD)/vmx $(GUEST_OUT)/bench_nano.elf $(BUILD)/bench/native_nano $(BUILD)/.deps-test $(DRIVER_OUT)/initrd.cpio.gz
	@echo "bench-nano: booting the check-driver host for the two worlds' columns (a few minutes)"
	@mkdir -p $(DRIVER_OUT)/results && $(DRIVER_RUN) bench:bench >$(DRIVER_OUT)/results/bench.summary 2>&1 || \
		echo "bench-nano: the check-driver host's run failed: $(DRIVER_OUT)/results/bench.summary"
	@./tests/scripts/bench-nano.sh $(BUILD)/vmx $(GUEST_OUT)/bench_nano.elf $(BUILD)/bench/native_nano \
		$(DRIVER_OUT)/results/bench.log
check-driver: $(DRIVER_OUT)/initrd.cpio.gz
	@$(SUITE) driver $(DRIVER_RUN) base:quick pti:one la57:one side:side
# A developer's loop: the listed guests only, on the base host, each
# difference from QEMU shown (make driver-try GUESTS="smc paging").
driver-try: $(DRIVER_OUT)/initrd.cpio.gz
	@./tests/driver/run-driver-test.sh $(DRIVER_HOST)/vmlinuz $(DRIVER_OUT)/initrd.cpio.gz $(DRIVER_OUT)/results-try \
		base:guests:$$(echo $(or $(GUESTS),hello) | tr ' ' ,); grep -A40 -E '^--- ' $(DRIVER_OUT)/results-try/base.log | head -400
check-driver-full: $(DRIVER_OUT)/initrd.cpio.gz
	@$(SUITE) driver-full $(DRIVER_RUN) base:full pti:quick la57:quick

clean:
	rm -rf $(BUILD)
