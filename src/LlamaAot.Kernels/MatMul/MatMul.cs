// Matrix products on a row range, the unit a scheduler hands to one thread: y[b, r] = W[r] · act[b] for rows
// r in [start, end) and every activation row b. Decode (batch 1) is a matrix-vector product; prompt batches
// are matrix-matrix products that read each weight row once for all activation rows. Every output element is
// one call of the type's dot in its fixed arithmetic order, so results do not depend on batching, tiling or
// thread count.
namespace LlamaAot.Kernels.MatMul;

/// <summary>One product's operands. Y is (Batch, YStride) row-major; activations are already in the weight's
/// activation format (vec_dot_type), ActRowBytes apart.</summary>
public unsafe struct MatMulArgs
{
    public byte* W;
    public long RowBytes;
    public int Rows;
    public int Cols;
    public byte* Act;
    public long ActRowBytes;
    public int Batch;
    public float* Y;
    public long YStride;
    public delegate*<byte*, byte*, int, float> Dot;
}

public static unsafe class MatMul
{
    /// <summary>The i-th row (i in [0, end − start)) of a decode range taken as two streams, the range's halves a row
    /// each in turn: start, start + h, start + 1, start + h + 1, … with h = ⌈(end − start) / 2⌉. From DRAM this machine
    /// serves two far-apart streams faster than one (Zen 5, one thread, the Q4_K decode kernel on 2048×5632: 29.5 →
    /// 33 GB/s).</summary>
    public static int TwoStreamRow(int start, int end, int i)
    {
        int n = end - start, h = (n + 1) / 2;
        return i < 2 * (n - h) ? start + (i & 1) * h + (i >> 1) : start + h - 1;
    }

    /// <summary>Rows a thread's share is rounded to, so tiles of consecutive rows stay whole.</summary>
    public const int RowGranule = 4;

    /// <summary>Weight rows processed together against one block of activation rows: keeps the activation rows
    /// (the batch) hot in cache while several weight rows stream past.</summary>
    private const int BatchTile = 64;

    /// <summary>Generic row-range product through the dot pointer: weight row outer, so a row is read from memory
    /// once per batch tile.</summary>
    public static void Rows(MatMulArgs* m, int start, int end)
    {
        var dot = m->Dot;
        for (int b0 = 0; b0 < m->Batch; b0 += BatchTile)
        {
            int b1 = Math.Min(m->Batch, b0 + BatchTile);
            for (int r = start; r < end; r++)
            {
                byte* row = m->W + r * m->RowBytes;
                for (int b = b0; b < b1; b++) m->Y[b * m->YStride + r] = dot(row, m->Act + b * m->ActRowBytes, m->Cols);
            }
        }
    }

    /// <summary>Row-range product with a kernel that computes one weight row against four activation rows at once
    /// (y[j·yStride] = dot(w, a + j·actStride) for j &lt; 4, bit for bit, sharing the weight row's unpacking); the
    /// batch's leftover rows, and decode, go through the dot. Batch tiles as in Rows.</summary>
    public static void Acts4Rows(MatMulArgs* m, int start, int end, delegate*<byte*, byte*, long, int, float*, long, void> acts4)
    {
        var dot = m->Dot;
        for (int b0 = 0; b0 < m->Batch; b0 += BatchTile)
        {
            int b1 = Math.Min(m->Batch, b0 + BatchTile);
            for (int r = start; r < end; r++)
            {
                byte* row = m->W + r * m->RowBytes;
                int b = b0;
                for (; b + 4 <= b1; b += 4) acts4(row, m->Act + b * m->ActRowBytes, m->ActRowBytes, m->Cols, m->Y + b * m->YStride + r, m->YStride);
                for (; b < b1; b++) m->Y[b * m->YStride + r] = dot(row, m->Act + b * m->ActRowBytes, m->Cols);
            }
        }
    }

    /// <summary>The [start, end) rows of thread ith out of nth, in whole granules.</summary>
    public static (int Start, int End) Share(int rows, int ith, int nth)
    {
        int granules = (rows + RowGranule - 1) / RowGranule;
        int g0 = (int)((long)granules * ith / nth), g1 = (int)((long)granules * (ith + 1) / nth);
        return (Math.Min(rows, g0 * RowGranule), Math.Min(rows, g1 * RowGranule));
    }
}
