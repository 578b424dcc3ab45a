// SamplerOptions: the user-facing sampling knobs, named and defaulted like llama.cpp's CLI so that
// settings carry over between the two tools unchanged.

namespace LlamaAot.Sampling;

public sealed record SamplerOptions
{
    /// <summary>Used when the caller does not choose a seed; the CLI substitutes a random one.</summary>
    public const ulong DefaultSeed = 1234UL;

    /// <summary>Divides the logits after filtering; 0 (or below) means greedy argmax.</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Keep only the k most likely tokens; 0 means no limit.</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Nucleus size in (0, 1]; 1 disables it.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Drop tokens less likely than MinP times the most likely one; 0 disables it.</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>Penalty for tokens seen in the last RepeatLastN; 1 disables it.</summary>
    public float RepeatPenalty { get; init; } = 1.0f;

    /// <summary>How many trailing tokens the repeat penalty looks at; 0 disables it, -1 means the whole context.</summary>
    public int RepeatLastN { get; init; } = 64;

    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that makes no sense.</summary>
    public void Validate()
    {
        // Written as !(x in range) so NaN fails every check instead of slipping through.
        if (!(Temperature >= 0f) || float.IsPositiveInfinity(Temperature))
        {
            throw new ArgumentException($"temperature must be a finite number >= 0 (0 = greedy); got {Temperature}.");
        }
        if (TopK < 0)
        {
            throw new ArgumentException($"top-k must be >= 0 (0 = no limit); got {TopK}.");
        }
        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"top-p must be in (0, 1] (1 = off); got {TopP}.");
        }
        if (!(MinP >= 0f && MinP <= 1f))
        {
            throw new ArgumentException($"min-p must be in [0, 1] (0 = off); got {MinP}.");
        }
        if (!(RepeatPenalty > 0f) || float.IsPositiveInfinity(RepeatPenalty))
        {
            throw new ArgumentException($"repeat-penalty must be a finite number > 0 (1 = off); got {RepeatPenalty}.");
        }
        if (RepeatLastN < -1)
        {
            throw new ArgumentException($"repeat-last-n must be >= -1 (-1 = whole context, 0 = off); got {RepeatLastN}.");
        }
    }
}
