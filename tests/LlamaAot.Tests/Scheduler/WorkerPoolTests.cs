// The thread pool's contract: every region runs work once per thread with the right (ith, nth), and with
// pinning, thread i stays on the i-th CPU of Affinity.CpuOrder (one per physical core first).
using LlamaAot.Scheduler;

namespace LlamaAot.Tests.Scheduler;

public unsafe class WorkerPoolTests
{
    private struct Record
    {
        public fixed int Cpu[8];
        public fixed int Calls[8];
        public int Nth;
    }

    private static void Work(void* ctx, int ith, int nth)
    {
        var r = (Record*)ctx;
        r->Cpu[ith] = Affinity.CurrentCpu();
        Interlocked.Increment(ref r->Calls[ith]);
        r->Nth = nth;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_thread_runs_each_region_once(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rec = new Record();
        for (int region = 0; region < 100; region++) pool.Run(&Work, &rec);
        for (int i = 0; i < threads; i++) Assert.Equal(100, rec.Calls[i]);
        for (int i = threads; i < 8; i++) Assert.Equal(0, rec.Calls[i]);
        Assert.Equal(threads, rec.Nth);
    }

    [Fact]
    public void Pinned_threads_run_on_their_cpus()
    {
        int[] order = Affinity.CpuOrder();
        if (!OperatingSystem.IsLinux()) return;
        Assert.NotEmpty(order);
        Assert.Equal(order.Length, order.Distinct().Count());
        int threads = Math.Min(order.Length, 4);
        int[] before = Affinity.CpuOrder();
        var t = new Thread(() =>
        {
            using var pool = new WorkerPool(threads, pin: true);
            var rec = new Record();
            for (int region = 0; region < 20; region++)
            {
                pool.Run(&Work, &rec);
                for (int i = 0; i < threads; i++) Assert.Equal(order[i], rec.Cpu[i]);
            }
        });
        t.Start();
        t.Join();
        // Pinning happened on the helper thread only: this thread's CPU set is unchanged.
        Assert.Equal(before, Affinity.CpuOrder());
    }
}
