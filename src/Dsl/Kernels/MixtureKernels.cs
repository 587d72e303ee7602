using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

/// <summary>
/// The routing of a mixture-of-experts layer, written once for every shape: the generated kernel class runs the
/// router's and the experts' products (Gemm) and calls these for what lies between them. Rows are inputs (samples,
/// or tokens of a sequence); a row's k choices are its "assignments", numbered <c>row * k + j</c>.
/// </summary>
public static class MixtureKernels
{
    /// <summary>
    /// Per row: the top-k experts by logit (ties to the lower index, so the choice is deterministic), then the
    /// softmax of the logits in place, then the gates: the chosen experts' probabilities, or with
    /// <paramref name="renormalize"/> their softmax over the k chosen logits alone (the probabilities divided by their sum).
    /// </summary>
    public static void Route(ref float logits, int rows, int experts, int topK, bool renormalize, ref float gates, ref int choices)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref logits, r * experts), experts);
            Span<int> chosen = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref choices, r * topK), topK);
            TopK(row, chosen);
            Softmax.Forward(row);
            Span<float> gate = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref gates, r * topK), topK);
            float sum = 0f;
            for (int j = 0; j < topK; j++) sum += gate[j] = row[chosen[j]];
            if (!renormalize) continue;
            for (int j = 0; j < topK; j++) gate[j] /= sum;
        }
    }

    // The indices of the k largest values, largest first; a later index replaces an earlier only when strictly larger.
    private static void TopK(ReadOnlySpan<float> values, Span<int> chosen)
    {
        for (int j = 0; j < chosen.Length; j++)
        {
            int best = -1;
            for (int i = 0; i < values.Length; i++)
            {
                if (best >= 0 && !(values[i] > values[best])) continue;
                if (chosen[..j].Contains(i)) continue;
                best = i;
            }
            chosen[j] = best;
        }
    }

    /// <summary>
    /// Sorts the assignments by expert, stably (row order within an expert): <paramref name="starts"/>[e] is where
    /// expert e's rows begin (<paramref name="experts"/> + 1 values), <paramref name="assignments"/>[slot] the
    /// assignment at each sorted slot, <paramref name="positions"/>[assignment] its slot. An expert takes at most
    /// <paramref name="capacity"/> assignments; the later ones are dropped (position −1) and contribute nothing.
    /// </summary>
    /// <returns>The assignments dropped.</returns>
    public static int Group(ref int choices, int rows, int experts, int topK, int capacity, ref int starts, ref int assignments, ref int positions)
    {
        Span<int> start = MemoryMarshal.CreateSpan(ref starts, experts + 1);
        start.Clear();
        int total = rows * topK;
        for (int a = 0; a < total; a++)
        {
            int e = Unsafe.Add(ref choices, a);
            if (start[e + 1] < capacity) start[e + 1]++;
        }
        for (int e = 0; e < experts; e++) start[e + 1] += start[e];
        Span<int> next = experts <= 256 ? stackalloc int[experts] : new int[experts];
        start[..experts].CopyTo(next);
        int dropped = 0;
        for (int a = 0; a < total; a++)
        {
            int e = Unsafe.Add(ref choices, a);
            if (next[e] == start[e + 1])
            {
                Unsafe.Add(ref positions, a) = -1;
                dropped++;
                continue;
            }
            int slot = next[e]++;
            Unsafe.Add(ref assignments, slot) = a;
            Unsafe.Add(ref positions, a) = slot;
        }
        return dropped;
    }

    /// <summary>Copies each kept assignment's row of x to its sorted slot: <c>sorted[slot] = x[assignments[slot] / k]</c>.</summary>
    public static void Gather(ref float x, int features, ref int assignments, int kept, int topK, ref float sorted)
    {
        for (int slot = 0; slot < kept; slot++)
        {
            int row = Unsafe.Add(ref assignments, slot) / topK;
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref x, row * features), features)
                .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref sorted, slot * features), features));
        }
    }

    /// <summary><c>y[r] = sum over j of gate[r, j] * outputs[positions[r, j]]</c>, dropped assignments adding nothing.</summary>
    public static void Combine(ref float outputs, int features, ref int positions, ref float gates, int rows, int topK, ref float y)
    {
        for (int r = 0; r < rows; r++)
        {
            ref float yr = ref Unsafe.Add(ref y, r * features);
            MemoryMarshal.CreateSpan(ref yr, features).Clear();
            for (int j = 0; j < topK; j++)
            {
                int slot = Unsafe.Add(ref positions, r * topK + j);
                if (slot < 0) continue;
                SpanMath.MultiplyAdd(ref Unsafe.Add(ref outputs, slot * features), Unsafe.Add(ref gates, r * topK + j), ref yr, (nuint)features);
            }
        }
    }

    /// <summary>Batch 1 (one row, k experts run in turn): <c>y = gate * output</c> for the first, <c>y += gate * output</c> after.</summary>
    public static void Accumulate(ref float output, float gate, ref float y, int features, bool first)
    {
        if (first) MemoryMarshal.CreateSpan(ref y, features).Clear();
        SpanMath.MultiplyAdd(ref output, gate, ref y, (nuint)features);
    }

    /// <summary>
    /// The combination's backward: per kept assignment, dL/d(expert output) = gate · dy (into its sorted slot) and
    /// dL/d(gate) = dy · expert output; a dropped assignment's gate gradient is 0.
    /// </summary>
    public static void CombineBackward(ref float dy, ref float outputs, int features, ref int positions, ref float gates, int rows, int topK, ref float sortedGradient, ref float gateGradient)
    {
        for (int r = 0; r < rows; r++)
        {
            ref float dyr = ref Unsafe.Add(ref dy, r * features);
            for (int j = 0; j < topK; j++)
            {
                int a = r * topK + j;
                int slot = Unsafe.Add(ref positions, a);
                if (slot < 0)
                {
                    Unsafe.Add(ref gateGradient, a) = 0f;
                    continue;
                }
                ref float output = ref Unsafe.Add(ref outputs, slot * features);
                ref float target = ref Unsafe.Add(ref sortedGradient, slot * features);
                float gate = Unsafe.Add(ref gates, a);
                float dot = 0f;
                for (int i = 0; i < features; i++)
                {
                    float g = Unsafe.Add(ref dyr, i);
                    dot += g * Unsafe.Add(ref output, i);
                    Unsafe.Add(ref target, i) = gate * g;
                }
                Unsafe.Add(ref gateGradient, a) = dot;
            }
        }
    }

    /// <summary>
    /// dL/d(router logits) per row, from the gates' gradients and the balancing loss's gradient per probability
    /// (<paramref name="balance"/>[e], the same for every row). Softmax gates: dL/dp_e collects the gate gradients of
    /// the chosen experts plus balance[e], and dz_i = p_i (dp_i − Σ_m p_m dp_m). Renormalised gates g = softmax of the
    /// chosen logits: dz_{e_j} gets g_j (dg_j − Σ g dg), the rest nothing (with k = 1, g = 1 and the router learns only
    /// from the balancing loss), plus the balancing term through the full softmax.
    /// </summary>
    public static void RouterBackward(ref float probabilities, ref float gates, ref int choices, ref float gateGradient, int rows, int experts, int topK,
        bool renormalize, ReadOnlySpan<float> balance, ref float logitGradient)
    {
        for (int r = 0; r < rows; r++)
        {
            ref float p = ref Unsafe.Add(ref probabilities, r * experts);
            ref float dz = ref Unsafe.Add(ref logitGradient, r * experts);
            ref float dg = ref Unsafe.Add(ref gateGradient, r * topK);
            ref float g = ref Unsafe.Add(ref gates, r * topK);
            ref int chosen = ref Unsafe.Add(ref choices, r * topK);
            for (int i = 0; i < experts; i++) Unsafe.Add(ref dz, i) = balance[i];
            if (!renormalize)
                for (int j = 0; j < topK; j++) Unsafe.Add(ref dz, Unsafe.Add(ref chosen, j)) += Unsafe.Add(ref dg, j);
            float mean = 0f;
            for (int i = 0; i < experts; i++) mean += Unsafe.Add(ref p, i) * Unsafe.Add(ref dz, i);
            for (int i = 0; i < experts; i++) Unsafe.Add(ref dz, i) = Unsafe.Add(ref p, i) * (Unsafe.Add(ref dz, i) - mean);
            if (!renormalize) continue;
            float gateMean = 0f;
            for (int j = 0; j < topK; j++) gateMean += Unsafe.Add(ref g, j) * Unsafe.Add(ref dg, j);
            for (int j = 0; j < topK; j++) Unsafe.Add(ref dz, Unsafe.Add(ref chosen, j)) += Unsafe.Add(ref g, j) * (Unsafe.Add(ref dg, j) - gateMean);
        }
    }

    /// <summary>Adds each kept assignment's input gradient to its row: <c>dx[assignments[slot] / k] += sorted[slot]</c>.</summary>
    public static void ScatterAdd(ref float sorted, int features, ref int assignments, int kept, int topK, ref float dx)
    {
        for (int slot = 0; slot < kept; slot++)
        {
            int row = Unsafe.Add(ref assignments, slot) / topK;
            SpanMath.MultiplyAdd(ref Unsafe.Add(ref sorted, slot * features), 1f, ref Unsafe.Add(ref dx, row * features), (nuint)features);
        }
    }

    /// <summary>
    /// The batch's routing statistics into <paramref name="statistics"/> (<see cref="MixtureStatistics"/>'s layout):
    /// each expert's load f_e (its share of the assignments, before any were dropped), its mean probability P_e, the
    /// balancing loss weight · N · Σ f_e P_e (1 · weight when balanced, N · weight when collapsed), the router's mean
    /// entropy, the assignments dropped, and the balancing loss's gradient per row's probability, weight · N · f_e / rows.
    /// A batch split across threads (<see cref="Workspace.SplitGroup"/>) adds up every thread's rows first, so each
    /// thread sees the whole batch's figures and its gradients add up to the whole batch's.
    /// </summary>
    public static void Statistics(ref float probabilities, ref int choices, int rows, int experts, int topK, int dropped, float balanceWeight, Workspace? workspace, Span<float> statistics)
    {
        BatchGroup? group = workspace?.SplitGroup;
        int length = 2 * experts + 3;
        Span<double> sums = group is null ? stackalloc double[length] : group.Partial(workspace!.GroupIndex, length);
        sums.Clear();
        double entropy = 0;
        for (int r = 0; r < rows; r++)
        {
            ref float p = ref Unsafe.Add(ref probabilities, r * experts);
            for (int i = 0; i < experts; i++)
            {
                float pi = Unsafe.Add(ref p, i);
                sums[experts + i] += pi;
                if (pi > 0f) entropy -= pi * Math.Log(pi);
            }
            for (int j = 0; j < topK; j++) sums[Unsafe.Add(ref choices, r * topK + j)] += 1;
        }
        sums[2 * experts] = entropy;
        sums[2 * experts + 1] = rows;
        sums[2 * experts + 2] = dropped;
        ReadOnlySpan<double> totals = group is null ? sums : group.Sum(workspace!.GroupIndex, length);
        double totalRows = totals[2 * experts + 1];
        var layout = new MixtureStatistics.Layout(experts);
        double balance = 0;
        for (int e = 0; e < experts; e++)
        {
            double load = totals[e] / (totalRows * topK);
            double probability = totals[experts + e] / totalRows;
            balance += load * probability;
            statistics[layout.Load + e] = (float)load;
            statistics[layout.Probability + e] = (float)probability;
            statistics[layout.BalanceGradient + e] = (float)(balanceWeight * experts * load / totalRows);
        }
        statistics[layout.Balance] = (float)(experts * balance);
        statistics[layout.AuxiliaryLoss] = (float)(balanceWeight * experts * balance);
        statistics[layout.Entropy] = (float)(totals[2 * experts] / totalRows);
        statistics[layout.Dropped] = (float)totals[2 * experts + 2];
        statistics[layout.Inputs] = (float)totalRows;
    }

    /// <summary>An expert's capacity in a batch of <paramref name="rows"/>: ceil(factor · rows · k / N), or every row when the factor is 0.</summary>
    public static int Capacity(float factor, int rows, int experts, int topK) =>
        factor <= 0f ? rows : Math.Max(1, (int)Math.Ceiling((double)factor * rows * topK / experts));
}
