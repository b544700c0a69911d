/*
 * slurm_bind_lo.c — an LD_PRELOAD shim for the local Slurm cluster (deploy/slurm.sh).
 *
 * slurmctld 22.05 always listens on 0.0.0.0:SlurmctldPort (CommunicationParameters=
 * NoInAddrAny does not apply to it), and the test cluster must not be reachable from the
 * network.  This library wraps bind(2): a bind to the IPv4 or IPv6 wildcard address becomes
 * a bind to the loopback address of the same family; every other bind passes through.
 *
 * Build: cc -shared -fPIC -O2 -Wall -Wextra -o slurm_bind_lo.so slurm_bind_lo.c -ldl
 * Only slurmctld is started with it (slurmd would pass it on to every job it starts).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* The real bind() takes the union's pointer member: the same calling convention. */
typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

/* glibc declares bind() with a transparent union under _GNU_SOURCE; match it exactly. */
int bind(int fd, __CONST_SOCKADDR_ARG arg, socklen_t len)
{
    static bind_fn real_bind;
    const struct sockaddr *addr = arg.__sockaddr__;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;

    if (!real_bind) {
        /* memcpy: ISO C has no cast from an object pointer to a function pointer. */
        void *sym = dlsym(RTLD_NEXT, "bind");
        if (!sym) {
            errno = ENOSYS;
            return -1;
        }
        memcpy(&real_bind, &sym, sizeof(real_bind));
    }
    if (addr && addr->sa_family == AF_INET && len >= sizeof(in4)) {
        memcpy(&in4, addr, sizeof(in4));
        if (in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
            in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&in4, sizeof(in4));
        }
    } else if (addr && addr->sa_family == AF_INET6 && len >= sizeof(in6)) {
        memcpy(&in6, addr, sizeof(in6));
        if (!memcmp(&in6.sin6_addr, &in6addr_any, sizeof(in6.sin6_addr))) {
            in6.sin6_addr = in6addr_loopback;
            return real_bind(fd, (const struct sockaddr *)&in6, sizeof(in6));
        }
    }
    return real_bind(fd, addr, len);
}
