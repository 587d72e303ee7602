using System;

namespace Dsl.Tests.Training;

public class DatasetTests
{
    [Fact]
    public void Classification_ExposesSamplesLabelsAndSizes()
    {
        var data = new Dataset([1, 2, 3, 4, 5, 6], inputSize: 2, labels: [0, 2, 1], classCount: 3);

        Assert.Equal(3, data.Count);
        Assert.Equal(2, data.InputSize);
        Assert.True(data.IsClassification);
        Assert.Equal(3, data.ClassCount);
        Assert.Equal(0, data.TargetSize);
        Assert.Equal(3, data.OutputSize);
        Assert.Equal(new float[] { 3, 4 }, data.Input(1).ToArray());
        Assert.Equal(2, data.Label(1));
        Assert.True(data.Targets.IsEmpty);
        Assert.Throws<InvalidOperationException>(() => data.Target(0));
    }

    [Fact]
    public void Regression_ExposesSamplesTargetsAndSizes()
    {
        var data = new Dataset([1, 2, 3, 4, 5, 6], inputSize: 3, targets: [10, 11, 20, 21], targetSize: 2);

        Assert.Equal(2, data.Count);
        Assert.False(data.IsClassification);
        Assert.Equal(0, data.ClassCount);
        Assert.Equal(2, data.TargetSize);
        Assert.Equal(2, data.OutputSize);
        Assert.Equal(new float[] { 4, 5, 6 }, data.Input(1).ToArray());
        Assert.Equal(new float[] { 20, 21 }, data.Target(1).ToArray());
        Assert.True(data.Labels.IsEmpty);
        Assert.Throws<InvalidOperationException>(() => data.Label(0));
    }

    [Fact]
    public void Constructor_FeaturesNotAWholeNumberOfSamples_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[7], inputSize: 2, labels: [0, 0, 0], classCount: 2));
        Assert.Equal("features", e.ParamName);
        Assert.Contains("7", e.Message);
    }

    [Fact]
    public void Constructor_LabelCountDiffersFromSampleCount_ThrowsNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[6], inputSize: 2, labels: [0, 1], classCount: 2));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("Expected 3 labels", e.Message);
        Assert.Contains("holds 2", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void Constructor_LabelOutsideClassRange_Throws(int label)
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[4], inputSize: 2, labels: [0, label], classCount: 3));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("sample 1", e.Message);
    }

    [Fact]
    public void Constructor_TargetCountDiffersFromSamplesTimesTargetSize_ThrowsNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[6], inputSize: 2, targets: new float[5], targetSize: 2));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("Expected 6 targets", e.Message);
        Assert.Contains("holds 5", e.Message);
    }

    [Fact]
    public void Constructor_NonPositiveSizes_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset(new float[4], inputSize: 0, labels: [0], classCount: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset(new float[4], inputSize: 2, labels: [0, 0], classCount: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset(new float[4], inputSize: 2, targets: new float[2], targetSize: 0));
    }

    [Fact]
    public void Accessors_IndexOutOfRange_Throw()
    {
        var data = new Dataset(new float[4], inputSize: 2, labels: [0, 1], classCount: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Input(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Label(-1));
    }
}
