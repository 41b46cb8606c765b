/* Linked right after bench.c (make bench): the page-aligned end of the
 * benchmark's own code, so that no glibc code shares its last page (see
 * bench_text_align in bench.c). */
__attribute__((aligned(4096), noinline, used)) void bench_text_end(void)
{
}
