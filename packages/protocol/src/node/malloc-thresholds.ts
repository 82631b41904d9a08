/** Size of the block whose release raises glibc's thresholds (glibc raises them to at most 32 MiB). */
const RAISE_TO_BYTES = 32 * 1024 * 1024 - 64 * 1024;
let raised = false;

/**
 * Makes glibc's malloc keep freed memory for reuse instead of handing it back to the kernel.
 *
 * Bulk transfers make many short-lived 32–64 KiB buffers (Node's socket reads, ssh2's packets).
 * With glibc's defaults, freeing them leaves more than 128 KiB free at the top of the heap, which
 * is returned to the kernel and page-faulted back in by the next allocations. On this project's
 * 2-core VM that cost the receiving client 55,000–94,000 page faults and 1.6–3.5 s of kernel time
 * per GiB received, and upload throughput with it (`npm run bench:transfer`).
 *
 * glibc raises its thresholds by itself when a block it mapped with mmap is freed: the mmap
 * threshold becomes that block's size and the trim threshold twice that (mallopt(3),
 * M_MMAP_THRESHOLD). Allocating a block just under 32 MiB and dropping it gets there (mmap
 * threshold ~32 MiB, trim threshold ~64 MiB) once the garbage collector frees it, at its next
 * young-generation collection. 16 MiB was not enough for the server, whose receive path frees in
 * larger batches (23,000–75,000 faults per GiB downloaded). Afterwards up to ~64 MiB of free
 * heap is kept, so it is done before a process's first bulk transfer, not at start: a server
 * holding hundreds of idle clients keeps returning memory (bench:memory went from ~80 to
 * ~100 KiB per idle client when this ran at start). Other allocators (musl) ignore it. Calls
 * after the first do nothing.
 */
export function raiseMallocThresholds(): void {
  // The thresholds belong to the process, so whether they were raised is process state too.
  if (raised) return;
  raised = true;
  const block = Buffer.allocUnsafeSlow(RAISE_TO_BYTES);
  block[0] = 1;
}
