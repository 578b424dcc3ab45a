// Buffers for kernel tests that end right against a page the process may not touch (PROT_NONE, Linux), so a kernel
// that loads even one byte past its input crashes the run instead of passing by luck. Elsewhere: plain allocations.
using System.Runtime.InteropServices;

namespace LlamaAot.Tests.Kernels;

public sealed unsafe partial class GuardedMemory : IDisposable
{
    private readonly List<(nint Base, nuint Length, bool Mapped)> _allocations = [];

    /// <summary>Room for <paramref name="bytes"/> bytes whose end lies <paramref name="slack"/> bytes before the guard
    /// page, so the start is misaligned by whatever bytes + slack leaves. Freed on Dispose.</summary>
    public byte* Bytes(long bytes, long slack)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        nuint total = (nuint)(bytes + slack);
        nuint dataPages = Math.Max((nuint)1, (total + page - 1) / page);
        nuint length = (dataPages + 1) * page;
        if (OperatingSystem.IsLinux())
        {
            nint region = Mmap(0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (region != -1 && Mprotect(region + (nint)(dataPages * page), page, ProtNone) == 0)
            {
                _allocations.Add((region, length, true));
                return (byte*)region + dataPages * page - total;
            }
        }
        void* p = NativeMemory.AllocZeroed(total + 1);
        _allocations.Add(((nint)p, 0, false));
        return (byte*)p;
    }

    public void Dispose()
    {
        foreach (var (b, length, mapped) in _allocations)
        {
            if (mapped) Munmap(b, length);
            else NativeMemory.Free((void*)b);
        }
        _allocations.Clear();
    }

    private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint addr, nuint length);
}
