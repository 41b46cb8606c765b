/* The live monitor (-monitor stdio | unix:PATH). */
#include "vmx.h"
int livemon_open(const char *spec, char *err, size_t errlen) { (void)spec; (void)err; (void)errlen; return 0; }
int livemon_listen_fd(void) { return -1; }
void livemon_close(void) {}
bool livemon_poll(void) { return false; }
enum vmm_dbg_resume livemon_session(const struct vmm_dbg_stop *why, bool hold) { (void)why; (void)hold; return VMM_DBG_RUN_CONT; }
