// Pages for emitted machine code: mapped writable, filled, then switched to read-and-execute (never writable and
// executable at once). Linux only; anywhere else, or when the system refuses (a policy forbidding executable
// mappings), Load returns null and callers keep their intrinsic kernels.
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels.Jit;

internal static unsafe partial class ExecutableMemory
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint addr, nuint length);

    /// <summary>The code in its own read-and-execute pages (kept for the life of the process), or null.</summary>
    public static void* Load(ReadOnlySpan<byte> code)
    {
        if (!OperatingSystem.IsLinux() || code.IsEmpty) return null;
        try
        {
            long page = Environment.SystemPageSize;
            nuint length = (nuint)((code.Length + page - 1) / page * page);
            nint p = Mmap(0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (p == -1 || p == 0) return null;
            code.CopyTo(new Span<byte>((void*)p, code.Length));
            if (Mprotect(p, length, ProtRead | ProtExec) != 0)
            {
                Munmap(p, length);
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
