// udsbus native helper: what Node's net module cannot do on a Unix socket.
//   setSocketBuffers(fd, sndbuf, rcvbuf) -> [sndbuf, rcvbuf]   SO_SNDBUF / SO_RCVBUF, 0 = leave
//   getSocketBuffers(fd)                 -> [sndbuf, rcvbuf]
// The kernel caps requests at net.core.wmem_max / rmem_max and reports double the value set
// (its bookkeeping overhead); both functions return what getsockopt reports afterwards.
// Errors throw an Error whose message names the call and strerror(errno), with `code` = errno name.
#include <errno.h>
#include <stdio.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == EINVAL ? "EINVAL" : "EIO";
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setSocketBuffers", NULL, set_socket_buffers, NULL, NULL, NULL, napi_default, NULL},
      {"getSocketBuffers", NULL, get_socket_buffers, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
