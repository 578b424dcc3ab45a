// Buffers for kernel tests that end right against a page the process may not touch (PROT_NONE, Linux), so a kernel
// that loads even one byte past its input crashes the run instead of passing by luck. Elsewhere: plain allocations.
using System.Runtime.InteropServices;
using LlamaAot.Kernels.Jit;

namespace LlamaAot.Tests.Kernels;

public sealed unsafe class GuardedMemory : IDisposable
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
            nint region = Pages.Map(length, Pages.Read | Pages.Write);
            if (region != -1 && Pages.Protect(region + (nint)(dataPages * page), page, Pages.None))
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
            if (mapped) Pages.Unmap(b, length);
            else NativeMemory.Free((void*)b);
        }
        _allocations.Clear();
    }
}
