/* The vmmon module: the /dev/vmmon device node (a misc device, mode 0600:
 * root only unless the host's udev rules say otherwise), one VM per open
 * file, the ioctls that create, load, run, count and destroy it, and sysfs
 * counts of what the module holds (/sys/class/misc/vmmon/{vms_live,pages_held}).
 * Environment: kernel, process context. */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "vmmon.h"

static int vmmon_open(struct inode *inode, struct file *f)
{
	struct vmmon_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);

	if (!vm)
		return -ENOMEM;
	mutex_init(&vm->lock);
	/* Kept until release, which may run after the opener's mm is torn
	 * down (a killed VMX): the locked-memory charge is undone there. */
	vm->mm = current->mm;
	mmgrab(vm->mm);
	f->private_data = vm;
	return 0;
}

static int vmmon_release(struct inode *inode, struct file *f)
{
	struct vmmon_vm *vm = f->private_data;

	vmmon_mem_destroy(vm);
	mmdrop(vm->mm);
	kfree(vm);
	return 0;
}

/* Copies the argument in after checking that its size field is the one
 * this module knows: a caller built against another layout gets EINVAL,
 * never a misread. */
static int arg_in(void *dst, size_t size, unsigned long uarg)
{
	if (copy_from_user(dst, (const void __user *)uarg, size))
		return -EFAULT;
	if (*(const __u32 *)dst != size)
		return -EINVAL;
	return 0;
}

static long vmmon_ioctl(struct file *f, unsigned int cmd, unsigned long uarg)
{
	struct vmmon_vm *vm = f->private_data;
	union {
		struct vmmon_create c;
		struct vmmon_load l;
		struct vmmon_run r;
		struct vmmon_counters k;
	} a;
	long err;

	/* Only the opener's process drives the VM: a descriptor inherited or
	 * passed to another process can only be closed. */
	if (current->mm != vm->mm)
		return -EPERM;
	if (cmd == VMMON_VERSION)
		return VMMON_API_VERSION;
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	switch (cmd) {
	case VMMON_CREATE_VM:
		err = arg_in(&a.c, sizeof(a.c), uarg);
		if (!err)
			err = vm->created ? -EEXIST : vmmon_mem_create(vm, &a.c);
		break;
	case VMMON_LOAD_MONITOR:
		err = arg_in(&a.l, sizeof(a.l), uarg);
		if (!err)
			err = vm->created ? vmmon_mem_load(vm, &a.l) : -ENODEV;
		break;
	case VMMON_RUN:
		err = arg_in(&a.r, sizeof(a.r), uarg);
		if (!err) {
			err = vmmon_world_run(vm, &a.r);
			if (a.r.exit_reason && copy_to_user((void __user *)uarg, &a.r, sizeof(a.r)))
				err = -EFAULT;
		}
		break;
	case VMMON_GET_COUNTERS:
		err = arg_in(&a.k, sizeof(a.k), uarg);
		if (!err && (a.k.reserved0 || a.k.reserved1 || a.k.monitor_ns || a.k.reserved[0] ||
			     a.k.stats_len > VMMON_STATS_MAX || (a.k.stats_len && !a.k.stats_uaddr)))
			err = -EINVAL;
		if (!err && !vm->created)
			err = -ENODEV;
		if (!err) {
			u64 su = a.k.stats_uaddr;
			u32 room = a.k.stats_len;
			a.k = vm->ctr;
			a.k.size = sizeof(a.k);
			a.k.stats_uaddr = su;
			a.k.stats_len = 0;
			if (su && room)
				err = vmmon_world_stats(vm, su, room, &a.k.stats_len);
			if (!err && copy_to_user((void __user *)uarg, &a.k, sizeof(a.k)))
				err = -EFAULT;
		}
		break;
	case VMMON_DESTROY_VM:
		err = vm->created ? 0 : -ENODEV;
		if (!err)
			vmmon_mem_destroy(vm);
		break;
	default:
		err = -ENOTTY;
	}
	mutex_unlock(&vm->lock);
	return err;
}

static const struct file_operations vmmon_fops = {
	.owner = THIS_MODULE,
	.open = vmmon_open,
	.release = vmmon_release,
	.unlocked_ioctl = vmmon_ioctl,
	.compat_ioctl = NULL,   /* the VMX is a 64-bit program */
	.llseek = noop_llseek,
};

static ssize_t vms_live_show(struct device *d, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&vmmon_vms_live));
}
static ssize_t pages_held_show(struct device *d, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&vmmon_pages_held));
}
static DEVICE_ATTR_RO(vms_live);
static DEVICE_ATTR_RO(pages_held);
static struct attribute *vmmon_attrs[] = {
	&dev_attr_vms_live.attr,
	&dev_attr_pages_held.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmmon);

static struct miscdevice vmmon_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vmmon",
	.fops = &vmmon_fops,
	.mode = 0600,
	.groups = vmmon_groups,
};

static int __init vmmon_init(void)
{
	int err = misc_register(&vmmon_dev);

	if (!err)
		pr_info("vmmon: /dev/vmmon ready (API %d)\n", VMMON_API_VERSION);
	return err;
}

static void __exit vmmon_exit(void)
{
	misc_deregister(&vmmon_dev);
}

module_init(vmmon_init);
module_exit(vmmon_exit);
MODULE_DESCRIPTION("vmx driver world: /dev/vmmon");
/* pin_user_pages_fast and account_locked_vm are GPL-only exports. */
MODULE_LICENSE("GPL");
