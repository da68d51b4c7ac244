/* real.c - lazily resolved pointers to the real libc definitions and the
 * __wrap_NAME forwarders the linker binds every internal reference to
 * (--wrap, see syms.h), both generated from the one list in syms.h; and the
 * per-thread reentrancy guard. */
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "shim/shim.h"

__thread int shim_guard __attribute__((tls_model("initial-exec")));

#define SHIM_REAL_DEF(ret, name, params, args) ret(*shim_real_##name) params;
#define SHIM_REAL_DEF_F(ret, name, params, args, fd, kind) SHIM_REAL_DEF(ret, name, params, args)
#define SHIM_REAL_DEF_V(ret, name, params, args, last, nva) ret(*shim_real_##name)(SHIM_UNPAREN params, ...);
#define SHIM_REAL_DEF_U(ret, name, params, args, euid) SHIM_REAL_DEF(ret, name, params, args)
SHIM_OTHER_CALLS(SHIM_REAL_DEF)
SHIM_FD_CALLS(SHIM_REAL_DEF_F)
SHIM_VA_CALLS(SHIM_REAL_DEF_V)
SHIM_PRIV_UID_CALLS(SHIM_REAL_DEF_U)

/* The internal entry points: hidden (-fvisibility=hidden), reached only by
 * references inside libxskshim.so that the linker redirected from name to
 * __wrap_name.  Each goes straight to the real call: no bookkeeping, no
 * guard, errno exactly the real call's. */
#define SHIM_WRAP_DEF(ret, name, params, args) \
	ret __wrap_##name params;              \
	ret __wrap_##name params { return REAL(name) args; }
#define SHIM_WRAP_DEF_F(ret, name, params, args, fd, kind) SHIM_WRAP_DEF(ret, name, params, args)
#define SHIM_WRAP_DEF_V(ret, name, params, args, last, nva)                                    \
	ret __wrap_##name(SHIM_UNPAREN params, ...);                                           \
	ret __wrap_##name(SHIM_UNPAREN params, ...)                                            \
	{                                                                                      \
		long a_[6] = { 0 };                                                            \
		va_list ap_;                                                                   \
		va_start(ap_, last);                                                           \
		for (int i_ = 0; i_ < (nva); i_++)                                             \
			a_[i_] = va_arg(ap_, long);                                            \
		va_end(ap_);                                                                   \
		return REAL(name)(SHIM_UNPAREN args, a_[0], a_[1], a_[2], a_[3], a_[4], a_[5]); \
	}
#define SHIM_WRAP_DEF_U(ret, name, params, args, euid) SHIM_WRAP_DEF(ret, name, params, args)
SHIM_OTHER_CALLS(SHIM_WRAP_DEF)
SHIM_FD_CALLS(SHIM_WRAP_DEF_F)
SHIM_VA_CALLS(SHIM_WRAP_DEF_V)
SHIM_PRIV_UID_CALLS(SHIM_WRAP_DEF_U)

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
