{
  "targets": [
    {
      "target_name": "udsbus_native",
      "sources": ["udsbus_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
