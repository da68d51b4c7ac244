/* bpfexport.c - linked into a test receiver with -rdynamic, so the program
 * exports its own bpf_prog_load, bpf_map_create... the way dnsdist 1.7 does
 * (its bpf-filter.cc defines bpf_prog_load and bpf_create_map).  Each
 * definition breaks any caller that is not the program (it fails with E2BIG,
 * dnsdist's "Argument list too long") and is counted; at exit the program
 * prints "bpfexport: calls=N" on stderr.  Under xskshim the count must stay 0
 * and the socket must be accelerated: the shim's libbpf is its own.
 * (tests/t_isolation.sh) */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static int bpfexport_calls;

__attribute__((destructor)) static void bpfexport_report(void)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "bpfexport: calls=%d\n", bpfexport_calls);

	(void)!write(2, buf, (size_t)n);
}

/* Names libbpf 1.1 and libxdp 1.3 define and call internally, and libelf
 * and libmnl functions the shim's libbpf and ctl/ call. */
#define BPFEXPORT_NAMES(N)                                                       \
	N(bpf_prog_load) N(bpf_map_create) N(bpf_create_map) N(bpf_load_program) \
	N(bpf_object__open) N(bpf_object__open_mem) N(bpf_object__load)          \
	N(bpf_map_update_elem) N(bpf_map_lookup_elem) N(bpf_map_delete_elem)     \
	N(bpf_link_create) N(bpf_xdp_query) N(bpf_prog_get_fd_by_id)             \
	N(bpf_obj_get_info_by_fd) N(bpf_map__fd) N(bpf_program__fd)              \
	N(libbpf_num_possible_cpus) N(bpf_btf_load) N(btf__load_into_kernel)     \
	N(xsk_umem__create) N(xsk_socket__create_shared) N(xsk_socket__fd)       \
	N(xsk_umem__delete) N(xsk_socket__delete) N(libbpf_set_print)            \
	N(libxdp_set_print) N(bpf_update_elem) N(bpf_lookup_elem) N(bpf_delete_elem)     \
	N(bpf_get_next_key) N(elf_version) N(elf_begin) N(elf_memory) N(elf_end)         \
	N(elf_getscn) N(elf_nextscn) N(elf_getdata) N(elf_strptr) N(gelf_getshdr)        \
	N(elf_getshdrstrndx) N(mnl_socket_open) N(mnl_socket_bind) N(mnl_socket_sendto)  \
	N(mnl_socket_recvfrom)

#define BPFEXPORT_DEF(name)                                                      \
	__attribute__((visibility("default"))) long name(void);                  \
	__attribute__((visibility("default"))) long name(void)                   \
	{                                                                        \
		__atomic_add_fetch(&bpfexport_calls, 1, __ATOMIC_RELAXED);       \
		errno = E2BIG;                                                   \
		return -E2BIG;                                                   \
	}
BPFEXPORT_NAMES(BPFEXPORT_DEF)
