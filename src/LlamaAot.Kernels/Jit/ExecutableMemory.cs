// Pages for emitted machine code: mapped writable, filled, then switched to read-and-execute (never writable and
// executable at once). Linux only; anywhere else, or when the system refuses (a policy forbidding executable
// mappings), Load returns null and callers keep their intrinsic kernels.
namespace LlamaAot.Kernels.Jit;

internal static unsafe class ExecutableMemory
{
    /// <summary>The code in its own read-and-execute pages (kept for the life of the process), or null.</summary>
    public static void* Load(ReadOnlySpan<byte> code)
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
            return (void*)p;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
