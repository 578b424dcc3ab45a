// Pages for emitted machine code: mapped writable, filled, then switched to read-and-execute (never writable and
// executable at once). Linux only; anywhere else, or when the system refuses (a policy forbidding executable
// mappings), Load returns null and callers keep their intrinsic kernels. With LLAMA_AOT_PERF_MAP=1 each kernel's
// address range and emitter call go to /tmp/perf-PID.map, where perf finds symbols for code it cannot otherwise name.
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Jit;

internal static unsafe class ExecutableMemory
{
    private static readonly bool PerfMap = Environment.GetEnvironmentVariable("LLAMA_AOT_PERF_MAP") == "1";

    /// <summary>The code in its own read-and-execute pages (kept for the life of the process), or null. The perf map
    /// names it by the caller's file and its expression for the code.</summary>
    public static void* Load(ReadOnlySpan<byte> code, [CallerArgumentExpression(nameof(code))] string name = "",
        [CallerFilePath] string file = "")
    {
        if (!OperatingSystem.IsLinux() || code.IsEmpty) return null;
        try
        {
            long page = Environment.SystemPageSize;
            nuint length = (nuint)((code.Length + page - 1) / page * page);
            nint p = Pages.Map(length, Pages.Read | Pages.Write);
            if (p == -1 || p == 0) return null;
            code.CopyTo(new Span<byte>((void*)p, code.Length));
            if (!Pages.Protect(p, length, Pages.Read | Pages.Exec))
            {
                Pages.Unmap(p, length);
                return null;
            }
            if (PerfMap) WritePerfMap(p, code.Length, $"{Path.GetFileNameWithoutExtension(file)}.{name}");
            return (void*)p;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static readonly object PerfMapLock = new();

    private static void WritePerfMap(nint address, int length, string name)
    {
        lock (PerfMapLock)
        {
            try
            {
                File.AppendAllText($"/tmp/perf-{Environment.ProcessId}.map", $"{address:x} {length:x} emitted {name}\n");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
