// Cold-start helpers for a mapped model: ask the kernel to read the whole file ahead (madvise WILLNEED) or pin it
// in RAM (mlock). Linux/macOS only; elsewhere they report that they are unavailable.
using System.Runtime.InteropServices;

namespace LlamaAot.Gguf;

internal static unsafe partial class MemoryAdvice
{
    private const int MadvWillNeed = 3;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(void* addr, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "mlock", SetLastError = true)]
    private static partial int Mlock(void* addr, nuint length);

    /// <summary>Runs <paramref name="call"/> on the page-aligned span covering [p, p+length); null on success, else why not.</summary>
    private static string? OnPages(byte* p, long length, delegate*<void*, nuint, int> call, string name)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return $"{name} is not available on this OS";
        if (length == 0) return null;
        long page = Environment.SystemPageSize;
        byte* start = (byte*)((long)p & ~(page - 1));
        nuint len = (nuint)(p + length - start);
        try
        {
            return call(start, len) == 0 ? null : $"{name} failed (errno {Marshal.GetLastPInvokeError()})";
        }
        catch (DllNotFoundException)
        {
            return $"{name} is not available (no libc)";
        }
        catch (EntryPointNotFoundException)
        {
            return $"{name} is not available";
        }
    }

    private static int WillNeed(void* a, nuint n) => Madvise(a, n, MadvWillNeed);
    private static int Lock(void* a, nuint n) => Mlock(a, n);

    public static string? Prefetch(byte* p, long length) => OnPages(p, length, &WillNeed, "madvise(WILLNEED)");
    public static string? LockInMemory(byte* p, long length) => OnPages(p, length, &Lock, "mlock");
}
