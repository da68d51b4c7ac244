/* real.c - lazily resolved pointers to the real libc definitions, generated
 * from the one list in syms.h, and the per-thread reentrancy guard. */
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "shim/shim.h"

__thread int shim_guard __attribute__((tls_model("initial-exec")));

#define SHIM_REAL_DEF(ret, name, params, args) ret(*shim_real_##name) params;
#define SHIM_REAL_DEF_F(ret, name, params, args, fd, kind) SHIM_REAL_DEF(ret, name, params, args)
SHIM_OTHER_CALLS(SHIM_REAL_DEF)
SHIM_FD_CALLS(SHIM_REAL_DEF_F)

void shim_real_resolve(void **slot, const char *name)
{
	int saved = errno;
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* Never crash the host: a symbol this libc lacks is a symbol the
		 * program cannot have called through libc either. */
		static const char msg[] = "xskshim: error: real: cannot resolve a libc symbol\n";
		(void)!write(2, msg, sizeof(msg) - 1);
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	errno = saved;
}
