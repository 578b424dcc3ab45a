// Steady-state allocation checks. Tiered compilation finishing inside a measured window made the runtime allocate a
// fixed ~7 KB on the calling thread (seen about once in eight runs under CPU load, never with tiering off), so the
// code under test is first run until tiering has had time to settle.
using System.Diagnostics;

namespace LlamaAot.Tests;

public static class Allocations
{
    /// <summary>Bytes the current thread allocates while running <paramref name="measured"/>, after running
    /// <paramref name="warmUp"/> at least <paramref name="minCalls"/> times and for at least half a second.</summary>
    public static long AfterWarmUp(Action warmUp, Action measured, int minCalls = 50)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < minCalls || clock.ElapsedMilliseconds < 500; i++) warmUp();
        long before = GC.GetAllocatedBytesForCurrentThread();
        measured();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
