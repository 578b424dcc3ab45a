// Persistent worker threads for the forward pass. Run(work, ctx) has every thread — the caller as thread 0 plus
// the workers — call work(ctx, ith, nth) once, then returns when all are done: one parallel region per call, no
// Task or ThreadPool item, no allocation. Workers wait for the next region by spinning briefly (regions follow each
// other within microseconds while decoding) and then sleeping on a monitor (so an idle process uses no CPU).
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlamaAot.Scheduler;

public sealed unsafe class WorkerPool : IDisposable
{
    private const long SpinTicksBeforeSleep = 2 * TimeSpan.TicksPerMillisecond;

    private readonly Thread[] _threads;
    private readonly object _sleepLock = new();
    private delegate*<void*, int, int, void> _work;
    private void* _ctx;
    private int _generation;      // bumped to start a region
    private int _pending;         // workers still running the current region
    private int _sleepers;        // workers blocked in Monitor.Wait
    private volatile bool _stopping;

    /// <param name="threads">total threads including the caller (≥ 1)</param>
    /// <param name="pin">pin thread i to the i-th CPU of <see cref="Affinity.CpuOrder"/> (one per physical core
    /// first), the caller included (Linux; elsewhere, or if the OS refuses, threads stay unpinned)</param>
    public WorkerPool(int threads, bool pin = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ThreadCount = threads;
        int[] cpus = pin ? Affinity.CpuOrder() : [];
        if (cpus.Length > 0) Affinity.PinCurrentThread(cpus[0]);
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int ith = i + 1;
            int cpu = cpus.Length > 0 ? cpus[ith % cpus.Length] : -1;
            _threads[i] = new Thread(() =>
            {
                if (cpu >= 0) Affinity.PinCurrentThread(cpu);
                WorkerLoop(ith);
            }, WorkerStackBytes) { IsBackground = true, Name = $"llama-aot worker {ith}" };
            _threads[i].Start();
        }
    }

    /// <summary>Stack of each worker: the prompt kernels keep their tile buffers on the stack (up to ~350 KiB for a
    /// Q4_K tile of a long row; up to 288 KiB of Q4_0 or Q8_0 tile plus IntGemm's per-batch state, at most 512 KiB),
    /// well past what a default thread is promised on every platform.</summary>
    private const int WorkerStackBytes = 4 << 20;

    public int ThreadCount { get; }

    /// <summary>Default thread count: the physical cores this process may use (logical processors when unknown).</summary>
    public static int DefaultThreadCount() => Math.Max(1, CpuTopology.PhysicalCores());

    /// <summary>Runs work(ctx, ith, ThreadCount) on every thread and waits for all of them.</summary>
    public void Run(delegate*<void*, int, int, void> work, void* ctx)
    {
        if (_threads.Length == 0)
        {
            work(ctx, 0, 1);
            return;
        }
        _work = work;
        _ctx = ctx;
        Volatile.Write(ref _pending, _threads.Length);
        Interlocked.Increment(ref _generation);          // full fence: workers see _work/_ctx before the new generation
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock) Monitor.PulseAll(_sleepLock);
        }

        work(ctx, 0, ThreadCount);

        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    private void WorkerLoop(int ith)
    {
        int seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicksBeforeSleep * Stopwatch.Frequency / TimeSpan.TicksPerSecond)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                lock (_sleepLock)
                {
                    Interlocked.Increment(ref _sleepers);        // full fence before re-reading the generation
                    while (Volatile.Read(ref _generation) == seen && !_stopping) Monitor.Wait(_sleepLock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stopping) return;
            seen = Volatile.Read(ref _generation);
            _work(_ctx, ith, ThreadCount);
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>The [start, end) share of thread ith when n items are split as evenly as possible.</summary>
    public static (int Start, int End) Split(int n, int ith, int nth)
    {
        long start = (long)n * ith / nth, end = (long)n * (ith + 1) / nth;
        return ((int)start, (int)end);
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_sleepLock) Monitor.PulseAll(_sleepLock);
        foreach (var t in _threads) t.Join();
    }
}

/// <summary>Optional thread pinning (Linux sched_setaffinity).</summary>
public static unsafe partial class Affinity
{
    /// <summary>The CPUs this process may run on, one per physical core first (lowest CPU id of each core), then
    /// the remaining hyperthread siblings; empty where unknown.</summary>
    public static int[] CpuOrder()
    {
        if (!OperatingSystem.IsLinux()) return [];
        ulong* mask = stackalloc ulong[MaskWords];
        for (int i = 0; i < MaskWords; i++) mask[i] = 0;
        if (SchedGetAffinity(0, MaskWords * sizeof(ulong), mask) != 0) return [];
        var first = new List<int>();
        var rest = new List<int>();
        var seen = new HashSet<string>();
        for (int cpu = 0; cpu < MaskWords * 64; cpu++)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) == 0) continue;
            string core = CpuTopology.CoreKey(cpu) ?? $"cpu{cpu}";
            (seen.Add(core) ? first : rest).Add(cpu);
        }
        return [.. first, .. rest];
    }

    /// <summary>Pins the calling thread to one CPU; false where unsupported or refused.</summary>
    public static bool PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= MaskWords * 64) return false;
        ulong* mask = stackalloc ulong[MaskWords];
        for (int i = 0; i < MaskWords; i++) mask[i] = 0;
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SchedSetAffinity(0, MaskWords * sizeof(ulong), mask) == 0;
    }

    /// <summary>The CPU the calling thread is running on (-1 where unknown).</summary>
    public static int CurrentCpu() => OperatingSystem.IsLinux() ? SchedGetCpu() : -1;

    private const int MaskWords = 16;   // 1024 CPUs, glibc's cpu_set_t

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SchedSetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
    private static partial int SchedGetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();
}

/// <summary>Physical core count from Linux sysfs (one entry per distinct core id), else the logical count.</summary>
internal static class CpuTopology
{
    /// <summary>"package:core" of a CPU from sysfs, or null when unknown.</summary>
    public static string? CoreKey(int cpu)
    {
        try
        {
            string dir = $"/sys/devices/system/cpu/cpu{cpu}/topology";
            string id = Path.Combine(dir, "core_id"), pkg = Path.Combine(dir, "physical_package_id");
            if (!File.Exists(id)) return null;
            return (File.Exists(pkg) ? File.ReadAllText(pkg).Trim() : "0") + ":" + File.ReadAllText(id).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static int PhysicalCores()
    {
        int logical = Environment.ProcessorCount;
        try
        {
            if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/devices/system/cpu")) return logical;
            var cores = new HashSet<string>();
            foreach (string dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                string id = Path.Combine(dir, "topology", "core_id"), pkg = Path.Combine(dir, "topology", "physical_package_id");
                if (File.Exists(id)) cores.Add((File.Exists(pkg) ? File.ReadAllText(pkg).Trim() : "0") + ":" + File.ReadAllText(id).Trim());
            }
            return cores.Count > 0 ? Math.Min(cores.Count, logical) : logical;
        }
        catch (IOException)
        {
            return logical;
        }
        catch (UnauthorizedAccessException)
        {
            return logical;
        }
    }
}
