// udsbus native helper: what Node's net module cannot do on a Unix socket.
//   setSocketBuffers(fd, sndbuf, rcvbuf) -> [sndbuf, rcvbuf]   SO_SNDBUF / SO_RCVBUF, 0 = leave
//   getSocketBuffers(fd)                 -> [sndbuf, rcvbuf]
//   listenAbstract(name, backlog)        -> fd   bind + listen on the abstract name, exact length
//   connectAbstract(name)                -> fd   connect to the abstract name, exact length
//   peerCredentials(fd)                  -> [pid, uid, gid, pidfd]   SO_PEERCRED: the kernel's
//                                                 record of the peer at connect time (not
//                                                 forgeable). pidfd: what SO_PEERPIDFD (Linux
//                                                 6.5+) says of that pid now: 1 = the same
//                                                 process is still there, -1 = it has exited (the
//                                                 pid may name another process by now), 0 = the
//                                                 kernel cannot tell (no SO_PEERPIDFD)
//   notify(address, message)             -> n    one datagram to an AF_UNIX SOCK_DGRAM address
//                                                 (`@name` = abstract): systemd's sd_notify
//   lockFile(path)                       -> fd   open/create path 0600 and flock it exclusively
//                                                 (non-blocking: EWOULDBLOCK when held); the
//                                                 lock lasts until the fd is closed or the
//                                                 process ends, however it ends
// (libuv pads an abstract name with NULs to 108 bytes; D-Bus, systemd and socat use the exact
// length, and the kernel compares the whole address, so the two never meet.)
// The kernel caps requests at net.core.wmem_max / rmem_max and reports double the value set
// (its bookkeeping overhead); both functions return what getsockopt reports afterwards.
// Errors throw an Error whose message names the call and strerror(errno), with `code` = errno name.
#define _GNU_SOURCE // struct ucred
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <node_api.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = err == EBADF          ? "EBADF"
                     : err == ENOTSOCK     ? "ENOTSOCK"
                     : err == EINVAL       ? "EINVAL"
                     : err == EADDRINUSE   ? "EADDRINUSE"
                     : err == ECONNREFUSED ? "ECONNREFUSED"
                     : err == EAGAIN       ? "EAGAIN"
                     : err == EACCES       ? "EACCES"
                     : err == EMFILE       ? "EMFILE"
                     : err == EWOULDBLOCK  ? "EWOULDBLOCK"
                     : err == ENOENT       ? "ENOENT"
                     : err == ELOOP        ? "ELOOP"
                                           : "EIO";
  napi_throw_error(env, code, msg);
  return NULL;
}

static int get_int_arg(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static napi_value report(napi_env env, int fd) {
  int snd = 0, rcv = 0;
  socklen_t len = sizeof snd;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len) != 0) return throw_errno(env, "getsockopt(SO_SNDBUF)", errno);
  len = sizeof rcv;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) != 0) return throw_errno(env, "getsockopt(SO_RCVBUF)", errno);
  napi_value arr, a, b;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_int32(env, snd, &a);
  napi_create_int32(env, rcv, &b);
  napi_set_element(env, arr, 0, a);
  napi_set_element(env, arr, 1, b);
  return arr;
}

static napi_value set_socket_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t fd, snd, rcv;
  if (argc < 3 || !get_int_arg(env, argv[0], &fd) || !get_int_arg(env, argv[1], &snd) ||
      !get_int_arg(env, argv[2], &rcv) || fd < 0 || fd > 0x7fffffff || snd < 0 || snd > 0x3fffffff ||
      rcv < 0 || rcv > 0x3fffffff) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "setSocketBuffers(fd, sndbuf, rcvbuf): non-negative integers expected");
    return NULL;
  }
  int v;
  if (snd > 0) {
    v = (int)snd;
    if (setsockopt((int)fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) != 0) return throw_errno(env, "setsockopt(SO_SNDBUF)", errno);
  }
  if (rcv > 0) {
    v = (int)rcv;
    if (setsockopt((int)fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) != 0) return throw_errno(env, "setsockopt(SO_RCVBUF)", errno);
  }
  return report(env, (int)fd);
}

static napi_value get_socket_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t fd;
  if (argc < 1 || !get_int_arg(env, argv[0], &fd) || fd < 0 || fd > 0x7fffffff) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "getSocketBuffers(fd): a non-negative integer expected");
    return NULL;
  }
  return report(env, (int)fd);
}

// Reads the abstract name (without the leading NUL) into addr; returns the address length or 0.
static socklen_t abstract_addr(napi_env env, napi_value v, struct sockaddr_un *addr) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t len = 0;
  // sun_path[0] stays NUL; the name follows. napi writes a terminating NUL, hence the +1.
  if (napi_get_value_string_utf8(env, v, addr->sun_path + 1, sizeof addr->sun_path, &len) != napi_ok ||
      len == 0 || len > sizeof addr->sun_path - 1)
    return 0;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

static napi_value abstract_socket(napi_env env, napi_callback_info info, int do_listen) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_un addr;
  socklen_t alen = argc >= 1 ? abstract_addr(env, argv[0], &addr) : 0;
  int64_t backlog = 511;
  if (alen == 0 || (do_listen && argc >= 2 && !get_int_arg(env, argv[1], &backlog))) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "an abstract socket name of 1 to 107 bytes expected");
    return NULL;
  }
  // Non-blocking: a connect to a full backlog fails with EAGAIN instead of blocking the event loop.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int rc = do_listen ? bind(fd, (struct sockaddr *)&addr, alen) : connect(fd, (struct sockaddr *)&addr, alen);
  if (rc == 0 && do_listen) rc = listen(fd, (int)backlog);
  if (rc != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, do_listen ? "bind/listen" : "connect", err);
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value listen_abstract(napi_env env, napi_callback_info info) { return abstract_socket(env, info, 1); }
static napi_value connect_abstract(napi_env env, napi_callback_info info) { return abstract_socket(env, info, 0); }

static napi_value lock_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 ||
      len >= sizeof path - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "lockFile(path): a path expected");
    return NULL;
  }
  // O_NOFOLLOW: a symlink planted at the lock path is refused, not followed.
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return throw_errno(env, "open", errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "flock", err);
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

// Whether the process SO_PEERCRED names is still the one that connected: SO_PEERPIDFD gives a
// pidfd for it (refused with ESRCH once it is gone), and /proc/self/fdinfo/<pidfd> shows its pid
// (-1 once it has exited). 1 = alive and the same pid, -1 = gone, 0 = cannot tell.
static int peer_pid_state(int fd, pid_t pid) {
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) return errno == ESRCH ? -1 : 0;
  if (pidfd < 0) return 0;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  int state = 0;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n > 0) {
      buf[n] = 0;
      const char *p = strstr(buf, "\nPid:\t");
      if (p != NULL) state = strtol(p + 6, NULL, 10) == (long)pid ? 1 : -1;
    }
  }
  close(pidfd);
  return state;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t fd;
  if (argc < 1 || !get_int_arg(env, argv[0], &fd) || fd < 0 || fd > 0x7fffffff) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "peerCredentials(fd): a non-negative integer expected");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  int pid_state = peer_pid_state((int)fd, cred.pid);
  napi_value arr, v;
  napi_create_array_with_length(env, 4, &arr);
  napi_create_int64(env, cred.pid, &v);
  napi_set_element(env, arr, 0, v);
  napi_create_int64(env, cred.uid, &v);
  napi_set_element(env, arr, 1, v);
  napi_create_int64(env, cred.gid, &v);
  napi_set_element(env, arr, 2, v);
  napi_create_int32(env, pid_state, &v);
  napi_set_element(env, arr, 3, v);
  return arr;
}

static napi_value notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = 0, mlen = 0;
  char msg[4096];
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok ||
      len == 0 || len >= sizeof addr.sun_path ||
      napi_get_value_string_utf8(env, argv[1], msg, sizeof msg, &mlen) != napi_ok || mlen >= sizeof msg - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "notify(address, message): an address of 1 to 107 bytes expected");
    return NULL;
  }
  // An abstract address is written `@name`; on the wire it starts with a NUL, at its exact length.
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (addr.sun_path[0] == '@' ? 0 : 1));
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  ssize_t n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto", err);
  napi_value out;
  napi_create_int32(env, (int32_t)n, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setSocketBuffers", NULL, set_socket_buffers, NULL, NULL, NULL, napi_default, NULL},
      {"getSocketBuffers", NULL, get_socket_buffers, NULL, NULL, NULL, napi_default, NULL},
      {"listenAbstract", NULL, listen_abstract, NULL, NULL, NULL, napi_default, NULL},
      {"connectAbstract", NULL, connect_abstract, NULL, NULL, NULL, napi_default, NULL},
      {"lockFile", NULL, lock_file, NULL, NULL, NULL, napi_default, NULL},
      {"notify", NULL, notify, NULL, NULL, NULL, napi_default, NULL},
      {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
