// Memory read bandwidth: a streaming read of a 1 GiB buffer with eight independent accumulators (so the loop is
// bound by memory, not by an add chain), best of several passes, on one thread and on all cores.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Bench;

public static unsafe class BandwidthProbe
{
    private const long Bytes = 1L << 30;

    public static (double SingleGBs, double AllGBs, int Threads) Measure()
    {
        byte* buf = (byte*)NativeMemory.AlignedAlloc((nuint)Bytes, 4096);
        try
        {
            for (long off = 0; off < Bytes; off += 1 << 28) new Span<byte>(buf + off, (int)Math.Min(1 << 28, Bytes - off)).Fill(1);
            double single = Best(() => Read(buf, Bytes));
            int threads = Environment.ProcessorCount;
            double all = Best(() =>
            {
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long chunk = Bytes / threads;
                    Read(buf + t * chunk, chunk);
                });
            });
            return (single, all, threads);
        }
        finally
        {
            NativeMemory.AlignedFree(buf);
        }
    }

    private static double Best(Action pass)
    {
        pass();
        double best = 0;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            pass();
            best = Math.Max(best, Bytes / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    private static ulong Read(byte* p, long n)
    {
        var a0 = Vector256<ulong>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        for (long i = 0; i + 256 <= n; i += 256)
        {
            a0 += Vector256.Load((ulong*)(p + i));
            a1 += Vector256.Load((ulong*)(p + i + 32));
            a2 += Vector256.Load((ulong*)(p + i + 64));
            a3 += Vector256.Load((ulong*)(p + i + 96));
            a4 += Vector256.Load((ulong*)(p + i + 128));
            a5 += Vector256.Load((ulong*)(p + i + 160));
            a6 += Vector256.Load((ulong*)(p + i + 192));
            a7 += Vector256.Load((ulong*)(p + i + 224));
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }
}
