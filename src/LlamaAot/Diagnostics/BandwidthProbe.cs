// Memory read bandwidth, the yardstick of decode speed: a streaming read of a 1 GiB buffer (32 times a large L3)
// split across N threads, eight independent accumulators per thread (so the loop waits on memory, not on an add
// chain) and software prefetch 2 KiB ahead (on Zen 5 that reads 10% more than the hardware prefetchers alone; the
// decode kernels prefetch too, so the yardstick should). Best of five passes after one warm-up pass.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Diagnostics;

public static unsafe class BandwidthProbe
{
    public const long DefaultBytes = 1L << 30;

    /// <summary>GB/s (10^9 bytes a second) that `threads` threads read together; the buffer is freed before this
    /// returns.</summary>
    public static double Measure(int threads, long bytes = DefaultBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        bytes &= ~(256L * threads - 1);
        byte* buf = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        try
        {
            new Span<byte>(buf, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
            if (bytes > int.MaxValue) new Span<byte>(buf + int.MaxValue, (int)(bytes - int.MaxValue)).Fill(1);
            long chunk = bytes / threads;
            double best = 0;
            for (int pass = 0; pass < 6; pass++)
            {
                var workers = new Thread[threads];
                using var start = new Barrier(threads + 1);
                for (int t = 0; t < threads; t++)
                {
                    byte* p = buf + t * chunk;
                    workers[t] = new Thread(() =>
                    {
                        start.SignalAndWait();
                        Read(p, chunk);
                    });
                    workers[t].Start();
                }
                start.SignalAndWait();
                var sw = Stopwatch.StartNew();
                foreach (var w in workers) w.Join();
                double gbs = bytes / sw.Elapsed.TotalSeconds / 1e9;
                if (pass > 0) best = Math.Max(best, gbs);
            }
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buf);
        }
    }

    /// <summary>Sums n bytes (n a multiple of 256) as 64-bit lanes, so no load can be skipped.</summary>
    internal static ulong Read(byte* p, long n)
    {
        var a0 = Vector256<ulong>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        for (long i = 0; i + 256 <= n; i += 256)
        {
            if (Sse.IsSupported)
            {
                Sse.Prefetch0(p + i + 2048);
                Sse.Prefetch0(p + i + 2048 + 64);
                Sse.Prefetch0(p + i + 2048 + 128);
                Sse.Prefetch0(p + i + 2048 + 192);
            }
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
