/* deps.c - the shim's calls into its shared-library dependencies other than
 * libc, bound to that library's own definitions.
 *
 * Design note
 * -----------
 * libbpf reads the embedded program with libelf, and ctl/ talks netlink
 * through libmnl; neither has an archive that can go into a shared object
 * (Makefile), so they stay libelf.so.1 and libmnl.so.0.  A reference to
 * elf_begin from the .so would normally be resolved in the global scope,
 * where the executable comes first: a program that exports its own
 * elf_begin (a statically linked elfutils, -rdynamic) would get the shim's
 * calls.  So every such reference is linked with --wrap (the Makefile lists
 * the undefined symbols of the shim's objects and archives that these
 * libraries define: build/xskshim-deps.h) to a hidden __wrap_NAME
 * trampoline here that jumps through a pointer resolved with dlsym() on the
 * library's own handle - a lookup that starts at that library, not at the
 * executable.
 *
 * The pointers are resolved in a constructor that runs before the shim's
 * own (priority 101) and before any of these functions can be called (only
 * shim code calls them, after init).  A symbol that cannot be resolved is
 * named once on stderr and its trampoline stays NULL: the shim never calls
 * into libelf/libmnl before init, and a NULL here means a broken install.
 * Trampolines: x86-64 and aarch64 (one indirect jump, arguments untouched).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include "shim/shim.h"
#include "xskshim-deps.h"   /* SHIM_DEPS(D): D("soname", symbol), generated */

#define SHIM_DEP_PTR(lib, name) void *shim_dep_##name __attribute__((used));
SHIM_DEPS(SHIM_DEP_PTR)

#if defined(__x86_64__)
#define SHIM_DEP_JUMP(name) "\tjmp *shim_dep_" #name "(%rip)\n"
#elif defined(__aarch64__)
#define SHIM_DEP_JUMP(name) \
	"\tadrp x16, shim_dep_" #name "\n\tldr x16, [x16, :lo12:shim_dep_" #name "]\n\tbr x16\n"
#else
#error "deps.c: no trampoline for this architecture"
#endif

#define SHIM_DEP_TRAMP(lib, name)                                                      \
	__asm__(".text\n.globl __wrap_" #name "\n.hidden __wrap_" #name "\n"          \
		".type __wrap_" #name ", %function\n.p2align 4\n__wrap_" #name ":\n"   \
		SHIM_DEP_JUMP(name) ".size __wrap_" #name ", .-__wrap_" #name "\n");
SHIM_DEPS(SHIM_DEP_TRAMP)

__attribute__((constructor(101))) static void shim_deps_resolve(void)
{
	static const struct { const char *lib, *name; void **slot; } deps[] = {
#define SHIM_DEP_ENTRY(lib, name) { lib, #name, &shim_dep_##name },
		SHIM_DEPS(SHIM_DEP_ENTRY)
	};

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
		void *h = dlopen(deps[i].lib, RTLD_NOW);   /* NEEDED: already loaded */

		*deps[i].slot = h ? dlsym(h, deps[i].name) : NULL;
		if (!*deps[i].slot) {
			char msg[160];
			int n = snprintf(msg, sizeof(msg), "xskshim: error: deps: %s not found in %s\n",
					 deps[i].name, deps[i].lib);

			(void)!write(2, msg, (size_t)n);
		}
		if (h)
			dlclose(h);
	}
}
