# bench/peers: edits to Debian's /etc/nohang/nohang.conf (sed expressions,
# applied in the guest to the packaged file, so the rest stays Debian's).
# Node watermark as memwarden's (128 MiB: SIGTERM to the process of highest
# badness; SIGKILL at 64 MiB, as earlyoom), and its PSI check on bench.slice
# (memory some avg10 above 10% for 1 s, as every PSI-driven peer here): the
# only way nohang can see a cgroup in trouble.
s|^soft_threshold_min_mem *=.*|soft_threshold_min_mem = 128 M|
s|^hard_threshold_min_mem *=.*|hard_threshold_min_mem = 64 M|
s|^psi_checking_enabled *=.*|psi_checking_enabled = True|
s|^psi_path *=.*|psi_path = /sys/fs/cgroup/bench.slice/memory.pressure|
s|^psi_metrics *=.*|psi_metrics = some_avg10|
s|^soft_threshold_max_psi *=.*|soft_threshold_max_psi = 10|
s|^psi_excess_duration *=.*|psi_excess_duration = 1|
