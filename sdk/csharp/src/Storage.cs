using System;
using System.IO;

namespace GameMod
{
    /// <summary>Where the offline queue is kept between runs: one string, loaded and saved whole.</summary>
    public interface IQueueStorage
    {
        /// <summary>The saved text, or null when nothing was saved.</summary>
        string Load();
        void Save(string text);
    }

    /// <summary>In memory only: the queue outlives network outages, not restarts.</summary>
    public sealed class MemoryQueueStorage : IQueueStorage
    {
        string value;
        public string Load() => value;
        public void Save(string text) { value = text; }
    }

    /// <summary>
    /// A file (e.g. under Application.persistentDataPath). Written to a temporary file and moved
    /// into place, so a crash mid-write never leaves half a queue.
    /// </summary>
    public sealed class FileQueueStorage : IQueueStorage
    {
        readonly string path;
        public FileQueueStorage(string path) { this.path = path; }

        string Tmp => path + ".tmp";

        /// <summary>
        /// The file, or without it the .tmp: a whole save whose move never came (a crash on a
        /// platform where File.Replace is missing). A save cut short mid-write is not JSON, and
        /// the queue starts empty, as it would have anyway.
        /// </summary>
        public string Load() =>
            File.Exists(path) ? File.ReadAllText(path) : File.Exists(Tmp) ? File.ReadAllText(Tmp) : null;

        public void Save(string text)
        {
            File.WriteAllText(Tmp, text);
            if (!File.Exists(path)) { File.Move(Tmp, path); return; }
            // One step, so the queue is never missing (deleting first lost it all to a crash in between).
            try { File.Replace(Tmp, path, null); }
            catch (PlatformNotSupportedException)
            {
                File.Delete(path);
                File.Move(Tmp, path);
            }
        }
    }
}
