// Mt19937_64: the 64-bit Mersenne Twister with std::mt19937_64 semantics, the sampler's only source of randomness.
// A full 64-bit state seed keeps every bit of SamplerOptions.Seed meaningful, and matching the C++ standard's
// definition bit for bit lets a run be cross-checked against a native implementation.

namespace LlamaAot.Sampling;

internal sealed class Mt19937_64
{
    private const int N = 312;
    private const int M = 156;
    private const ulong MatrixA = 0xB5026F5AA96619E9UL;
    private const ulong UpperMask = 0xFFFFFFFF80000000UL;
    private const ulong LowerMask = 0x000000007FFFFFFFUL;
    private const ulong InitMultiplier = 6364136223846793005UL;

    /// <summary>The seed std::mt19937_64 uses when default-constructed.</summary>
    public const ulong DefaultSeed = 5489UL;

    private readonly ulong[] _state = new ulong[N];
    private int _index;

    public Mt19937_64(ulong seed = DefaultSeed) => Seed(seed);

    public void Seed(ulong seed)
    {
        ulong[] mt = _state;
        mt[0] = seed;
        for (int i = 1; i < N; i++)
        {
            ulong prev = mt[i - 1];
            mt[i] = unchecked(InitMultiplier * (prev ^ (prev >> 62)) + (ulong)i);
        }
        _index = N;
    }

    public ulong NextUInt64()
    {
        if (_index >= N)
        {
            Twist();
        }

        ulong x = _state[_index++];
        x ^= (x >> 29) & 0x5555555555555555UL;
        x ^= (x << 17) & 0x71D67FFFEDA60000UL;
        x ^= (x << 37) & 0xFFF7EEE000000000UL;
        x ^= x >> 43;
        return x;
    }

    /// <summary>Uniform in [0, 1): the top 53 bits, so every representable step is equally likely.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private void Twist()
    {
        ulong[] mt = _state;
        for (int i = 0; i < N; i++)
        {
            ulong y = (mt[i] & UpperMask) | (mt[(i + 1) % N] & LowerMask);
            ulong yA = y >> 1;
            if ((y & 1UL) != 0)
            {
                yA ^= MatrixA;
            }
            mt[i] = mt[(i + M) % N] ^ yA;
        }
        _index = 0;
    }
}
