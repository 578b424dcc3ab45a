// Read-only memory mapping of a whole file. Tensor data is handed out as pointers into this mapping: never copied.
using System.IO.MemoryMappedFiles;

namespace LlamaAot.Gguf;

internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private bool _disposed;

    private MappedFile(MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, long length)
    {
        _map = map;
        _view = view;
        Pointer = pointer;
        Length = length;
    }

    public byte* Pointer { get; }
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only; I/O failures become one-line user errors.</summary>
    public static MappedFile Open(string path)
    {
        FileStream stream;
        try
        {
            if (Directory.Exists(path)) throw new LlamaAotException($"cannot open '{path}': it is a directory");
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new LlamaAotException($"cannot open '{path}': {Describe(e)}", e);
        }

        long length = stream.Length;
        if (length == 0)
        {
            stream.Dispose();
            return new MappedFile(null, null, null, 0);   // nothing to map; the parser reports it as too short
        }
        try
        {
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(map, view, p + view.PointerOffset, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new LlamaAotException($"cannot map '{path}': {Describe(e)}", e);
        }
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
