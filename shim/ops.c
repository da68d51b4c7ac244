/* ops.c - the two per-socket operation tables (struct shim_ops, shim.h),
 * both generated from SHIM_FD_CALLS in syms.h: nothing here is written out
 * per call.
 *   shim_ops_accel   the emulations of recv.c (shim_<name>);
 *   shim_ops_kernel  the real call, and what it received added to the
 *                    socket's rx_kernel counter (the list's `kind`: MMSG the
 *                    return value, ONE one datagram, NONE nothing);
 *   shim_ops_adopt   a socket inherited bound (sock.c "inherited sockets"):
 *                    a receive call (kind MMSG or ONE) first accelerates it,
 *                    then goes where its ops now point; a send or connect
 *                    takes the kernel path without adopting.
 * All are constant; a socket moves between them with one pointer store. */
#include "shim/shim.h"

#define SHIM_KCOUNT_MMSG(r) ((r) > 0 ? (uint64_t)(r) : 0)
#define SHIM_KCOUNT_ONE(r)  ((r) >= 0 ? 1u : 0u)
#define SHIM_KCOUNT_NONE(r) ((void)(r), 0u)

#define SHIM_KERNEL_OP(ret, name, params, args, fd, kind)                       \
	static ret shim_kernel_##name(struct shim_sock *s, SHIM_UNPAREN params) \
	{                                                                       \
		ret r = REAL(name) args;                                        \
		if (SHIM_KCOUNT_##kind(r))                                      \
			shim_ctr_kernel_add(s, SHIM_KCOUNT_##kind(r));          \
		return r;                                                       \
	}
SHIM_FD_CALLS(SHIM_KERNEL_OP)

#define SHIM_ADOPTS_MMSG 1
#define SHIM_ADOPTS_ONE  1
#define SHIM_ADOPTS_NONE 0

#define SHIM_ADOPT_OP(ret, name, params, args, fd, kind)                        \
	static ret shim_adopt_##name(struct shim_sock *s, SHIM_UNPAREN params) \
	{                                                                       \
		if (!SHIM_ADOPTS_##kind)                                        \
			return shim_kernel_##name(s, SHIM_UNPAREN args);        \
		shim_sock_adopt(s, fd);                                         \
		return __atomic_load_n(&s->ops, __ATOMIC_ACQUIRE)->name(s, SHIM_UNPAREN args); \
	}
SHIM_FD_CALLS(SHIM_ADOPT_OP)

#define SHIM_OPS_KERNEL_INIT(ret, name, ...) .name = shim_kernel_##name,
#define SHIM_OPS_ADOPT_INIT(ret, name, ...)  .name = shim_adopt_##name,
#define SHIM_OPS_ACCEL_INIT(ret, name, ...)  .name = shim_##name,

const struct shim_ops shim_ops_kernel = { SHIM_FD_CALLS(SHIM_OPS_KERNEL_INIT) };
const struct shim_ops shim_ops_accel = { SHIM_FD_CALLS(SHIM_OPS_ACCEL_INIT) };
const struct shim_ops shim_ops_adopt = { SHIM_FD_CALLS(SHIM_OPS_ADOPT_INIT) };
