// Anonymous page mappings from libc (Linux): ExecutableMemory's code pages, and the tests' guard pages.
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels.Jit;

internal static partial class Pages
{
    public const int None = 0, Read = 1, Write = 2, Exec = 4;
    private const int MapPrivate = 2, MapAnonymous = 0x20;

    /// <summary>length bytes of fresh private zero pages with protection prot, or -1.</summary>
    public static nint Map(nuint length, int prot) => Mmap(0, length, prot, MapPrivate | MapAnonymous, -1, 0);

    /// <summary>mprotect: true on success.</summary>
    public static bool Protect(nint address, nuint length, int prot) => Mprotect(address, length, prot) == 0;

    public static void Unmap(nint address, nuint length) => Munmap(address, length);

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint addr, nuint length);
}
