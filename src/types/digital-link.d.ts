// digital-link.js ships no types: the part this project uses (GS1 Digital Link: Compression).
declare module 'digital-link.js' {
  const digitalLink: {
    Utils: {
      isCompressedWebUri(uri: string): boolean;
      decompressWebUri(uri: string): string;
      compressWebUri(uri: string, useOptimisations?: boolean, compressOtherKeyValuePairs?: boolean): string;
    };
  };
  export default digitalLink;
}
