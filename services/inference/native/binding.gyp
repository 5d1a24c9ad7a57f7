{
  "targets": [
    {
      "target_name": "arbor_classify_kernels",
      "sources": ["classify_kernels.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
