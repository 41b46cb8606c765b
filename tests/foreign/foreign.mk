# foreign.mk - builds the "foreign" multiboot guests (build/foreign/*.elf):
# guests written the way an outsider would, sharing nothing with tests/guests.
# Included from the top-level Makefile (paths relative to the repository root).

FOREIGN_SAVED_GOAL := $(.DEFAULT_GOAL)

BUILD ?= build
FOREIGN_SRC := tests/foreign
FOREIGN_OUT := build/foreign
FOREIGN_OBJ := $(FOREIGN_OUT)/obj
FOREIGN_CC ?= gcc
FOREIGN_LD ?= ld
FOREIGN_NASM ?= nasm

FOREIGN_NAMES := nasm_irq c_o0 c_os_exc
FOREIGN_ELFS := $(patsubst %,$(FOREIGN_OUT)/%.elf,$(FOREIGN_NAMES))
# Minimal reproductions of the discrepancies the guests found (see README).
FOREIGN_REPRO_NAMES := $(basename $(notdir $(wildcard $(FOREIGN_SRC)/repro/*.asm)))
FOREIGN_REPRO_ELFS := $(patsubst %,$(FOREIGN_OUT)/repro/%.elf,$(FOREIGN_REPRO_NAMES))

FOREIGN_CFLAGS := -m32 -march=i686 -std=gnu11 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -nostdlib -fno-builtin -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -Wall -Wextra -Werror
FOREIGN_LDFLAGS := -m elf_i386 -nostdlib -static --build-id=none -z max-page-size=0x1000 \
	$(shell $(FOREIGN_LD) --help 2>/dev/null | grep -q -- --no-warn-rwx-segments && echo --no-warn-rwx-segments)
FOREIGN_LIBGCC = $(shell $(FOREIGN_CC) -m32 -print-libgcc-file-name)

.PHONY: foreign foreign-repro foreign-tests
foreign: $(FOREIGN_ELFS)
foreign-repro: $(FOREIGN_REPRO_ELFS)
foreign-tests: $(BUILD)/vmx $(FOREIGN_ELFS)
	@$(FOREIGN_SRC)/run-foreign.sh $(BUILD)/vmx $(FOREIGN_ELFS)

# nasm_irq: pure NASM, its own linker script with three load segments
$(FOREIGN_OBJ)/nasm_irq.o: $(FOREIGN_SRC)/nasm_irq.asm
	@mkdir -p $(dir $@)
	$(FOREIGN_NASM) -f elf32 -o $@ $<
$(FOREIGN_OUT)/nasm_irq.elf: $(FOREIGN_OBJ)/nasm_irq.o $(FOREIGN_SRC)/nasm_irq.ld
	$(FOREIGN_LD) $(FOREIGN_LDFLAGS) -T $(FOREIGN_SRC)/nasm_irq.ld -o $@ $<

# c_o0: C at -O0, own start file, multiboot a.out kludge, libgcc for 64-bit division
$(FOREIGN_OBJ)/c_o0.o: $(FOREIGN_SRC)/c_o0.c
	@mkdir -p $(dir $@)
	$(FOREIGN_CC) $(FOREIGN_CFLAGS) -O0 -c -o $@ $<
$(FOREIGN_OBJ)/c_o0_start.o: $(FOREIGN_SRC)/c_o0_start.S
	@mkdir -p $(dir $@)
	$(FOREIGN_CC) -m32 -c -o $@ $<
$(FOREIGN_OUT)/c_o0.elf: $(FOREIGN_OBJ)/c_o0_start.o $(FOREIGN_OBJ)/c_o0.o $(FOREIGN_SRC)/c_o0.ld
	$(FOREIGN_LD) $(FOREIGN_LDFLAGS) -T $(FOREIGN_SRC)/c_o0.ld -o $@ \
		$(FOREIGN_OBJ)/c_o0_start.o $(FOREIGN_OBJ)/c_o0.o $(FOREIGN_LIBGCC)

# c_os_exc: C at -Os, entry and stubs as top-level asm in the C file
$(FOREIGN_OBJ)/c_os_exc.o: $(FOREIGN_SRC)/c_os_exc.c
	@mkdir -p $(dir $@)
	$(FOREIGN_CC) $(FOREIGN_CFLAGS) -Os -c -o $@ $<
$(FOREIGN_OUT)/c_os_exc.elf: $(FOREIGN_OBJ)/c_os_exc.o $(FOREIGN_SRC)/c_os_exc.ld
	$(FOREIGN_LD) $(FOREIGN_LDFLAGS) -T $(FOREIGN_SRC)/c_os_exc.ld -o $@ $<

# repro/*.asm: tiny NASM guests sharing repro/mini.inc
$(FOREIGN_OUT)/repro/%.o: $(FOREIGN_SRC)/repro/%.asm $(FOREIGN_SRC)/repro/mini.inc
	@mkdir -p $(dir $@)
	$(FOREIGN_NASM) -f elf32 -I $(FOREIGN_SRC)/repro/ -o $@ $<
$(FOREIGN_OUT)/repro/%.elf: $(FOREIGN_OUT)/repro/%.o $(FOREIGN_SRC)/repro/repro.ld
	$(FOREIGN_LD) $(FOREIGN_LDFLAGS) -T $(FOREIGN_SRC)/repro/repro.ld -o $@ $<

.SECONDARY: $(FOREIGN_REPRO_ELFS:.elf=.o)

.DEFAULT_GOAL := $(FOREIGN_SAVED_GOAL)
