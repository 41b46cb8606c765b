# Build rules for the multiboot test guests (build/guests/<name>.elf).
# Meant to be included from the top-level Makefile (paths are relative to the
# repository root) but also usable alone: make -f tests/guests/guests.mk guests

# Standalone use gets `guests` as its default goal; when included, leave the
# including Makefile's default goal alone.
ifeq ($(words $(MAKEFILE_LIST)),1)
GUEST_STANDALONE := 1
endif
GUEST_SAVED_GOAL := $(.DEFAULT_GOAL)

GUEST_NAMES := arith jcc string flags_if segments portio exceptions smc irq_stress paging mmio rmw_traced user_mode firmware_state \
	pit_irq pit_fast tc_pressure cpuid_rdtsc cpuid_model multitask hello i8042 bios_data fw_cfg ata mb_modules mb_low isa_ud call_gate pte_atomic stack_edges page0 wide_edges lapic ioapic te_probe pc_board task_switch acpi

GUEST_CC ?= gcc
GUEST_LD ?= ld
GUEST_SRC := tests/guests
GUEST_OUT := build/guests
GUEST_OBJ := $(GUEST_OUT)/obj

GUEST_CFLAGS := -m32 -march=i686 -std=gnu11 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -nostdlib -O2 -Wall -Wextra -Werror \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-I$(GUEST_SRC)/lib $(GUEST_EXTRA_CFLAGS)
GUEST_ASFLAGS := -m32 -march=i686 -fno-pic -fno-pie -I$(GUEST_SRC)/lib \
	-Wa,--fatal-warnings
GUEST_LDFLAGS := -m elf_i386 -T $(GUEST_SRC)/lib/link.ld -nostdlib -static \
	-z max-page-size=0x1000 --build-id=none \
	$(shell $(GUEST_LD) --help 2>/dev/null | grep -q -- --no-warn-rwx-segments && echo --no-warn-rwx-segments) \
	--fatal-warnings

GUEST_LIB_SRCS := $(wildcard $(GUEST_SRC)/lib/*.c $(GUEST_SRC)/lib/*.S)
GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/%,$(GUEST_OBJ)/%.o,$(GUEST_LIB_SRCS))

# A guest is <name>.c and/or <name>.S, plus anything in a <name>/ directory.
guest_srcs = $(wildcard $(GUEST_SRC)/$(1).c $(GUEST_SRC)/$(1).S \
	$(GUEST_SRC)/$(1)/*.c $(GUEST_SRC)/$(1)/*.S)
guest_objs = $(patsubst $(GUEST_SRC)/%,$(GUEST_OBJ)/%.o,$(call guest_srcs,$(1)))

GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))

.PHONY: guests guests-clean
guests: $(GUEST_ELFS)

guests-clean:
	rm -rf $(GUEST_OUT)

$(GUEST_OBJ)/%.c.o: $(GUEST_SRC)/%.c | $(GUEST_ORDER)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/%.S.o: $(GUEST_SRC)/%.S | $(GUEST_ORDER)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -MMD -MP -c $< -o $@

define GUEST_LINK_RULE
$(GUEST_OUT)/$(1).elf: $(call guest_objs,$(1)) $(GUEST_LIB_OBJS) $(GUEST_SRC)/lib/link.ld
	@mkdir -p $$(dir $$@)
	$$(GUEST_LD) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
# Guests linked where the shared script cannot put them: <name>.ld and
# their own entry code, with only the runtime's serial output and verdicts.
GUEST_OWN_LD := mb_low
GUEST_OWN_LD_LIB := $(GUEST_OBJ)/lib/exit.c.o $(GUEST_OBJ)/lib/serial.c.o
# mb_low must fit in 4 KiB.
$(GUEST_OBJ)/mb_low.c.o: GUEST_CFLAGS += -Os
define GUEST_OWN_LD_RULE
$(GUEST_OUT)/$(1).elf: $(call guest_objs,$(1)) $(GUEST_OWN_LD_LIB) $(GUEST_SRC)/$(1).ld
	@mkdir -p $$(dir $$@)
	$$(GUEST_LD) $$(filter-out -T $(GUEST_SRC)/lib/link.ld,$$(GUEST_LDFLAGS)) -T $(GUEST_SRC)/$(1).ld \
		-o $$@ $$(filter %.o,$$^)
endef
$(foreach g,$(filter-out $(GUEST_OWN_LD),$(GUEST_NAMES)),$(eval $(call GUEST_LINK_RULE,$(g))))
$(foreach g,$(GUEST_OWN_LD),$(eval $(call GUEST_OWN_LD_RULE,$(g))))

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)

ifdef GUEST_STANDALONE
.DEFAULT_GOAL := guests
else
.DEFAULT_GOAL := $(GUEST_SAVED_GOAL)
endif
