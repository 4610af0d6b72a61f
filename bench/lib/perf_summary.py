#!/usr/bin/env python3
"""Groups a `perf record -g` profile of one ferry process into where the time goes
(cipher, SHA-256, socket copies, file copies, allocation and page faults,
scheduling), by self time. Usage: perf_summary.py FILE.perf [...]"""

import re
import subprocess
import sys

# First match wins: (category, thread regex or None, symbol regex).
RULES = [
    ("cipher (XSalsa20 + Poly1305)", None, r"salsa|poly1305|stream_avx|crypto_|hsalsa"),
    ("cipher (AES-256-GCM / ChaCha20-Poly1305, ring)", None, r"ring_core|aes_gcm|gcm_|chacha"),
    ("SHA-256", None, r"sha2::|sha256"),
    ("BLAKE3", None, r"blake3"),
    ("allocation: memset + page faults + unmap", None,
     r"memset|clear_page|page_fault|handle_mm_fault|__handle_mm|do_anonymous|unmap_page|"
     r"zap_|free_pages|free_unref|rmqueue|alloc_pages|folio_alloc|lru|madvise|mmap|munmap|"
     r"_int_free|_int_malloc|malloc|calloc|cfree"),
    ("file read (tmpfs/page cache -> buffer)", r"ferry-read", r"copy_to_iter|filemap|shmem|xas_|"
     r"folio|copy_page_to_iter|vfs_read|ksys_read"),
    ("file write (buffer -> tmpfs)", r"ferry-write", r"copy_folio_from_iter|shmem|filemap|"
     r"folio|generic_perform_write|memmove|memcpy"),
    ("file write (buffer -> tmpfs)", None, r"copy_folio_from_iter|shmem_|generic_perform_write"),
    ("socket copy + TCP", None, r"copy_to_iter|copy_from_iter|tcp_|skb|sock|ip_|__dev_queue|"
     r"net_rx|loopback|softirq|__netif|memmove|memcpy"),
    ("scheduling + futex + syscalls", None, r"futex|schedule|switch|syscall|entry_SYSCALL|"
     r"spin_unlock|try_to_wake|wake_up|update_|enqueue|dequeue|pick_next|select_task|epoll"),
]


def rows(path):
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--stdio", "-g", "none",
                          "--sort", "comm,sym", "--percent-limit", "0"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if m:
            yield float(m.group(1)), m.group(2), m.group(3).strip()


def categorize(path):
    totals = {}
    for pct, comm, sym in rows(path):
        cat = "other"
        for name, thread, pattern in RULES:
            if (thread is None or re.search(thread, comm)) and re.search(pattern, sym):
                cat = name
                break
        totals[cat] = totals.get(cat, 0) + pct
    return totals


for path in sys.argv[1:]:
    print(f"{path}:")
    for cat, pct in sorted(categorize(path).items(), key=lambda kv: -kv[1]):
        print(f"  {pct:5.1f}%  {cat}")
