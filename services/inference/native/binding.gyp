{
  "targets": [
    {
      "target_name": "arbor_classify_kernels",
      "sources": ["classify_kernels.c", "screening_kernel.c"],
      "libraries": ["-lm", "-lmvec", "-pthread"],
      "cflags": ["-O3", "-std=gnu11", "-pthread", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
