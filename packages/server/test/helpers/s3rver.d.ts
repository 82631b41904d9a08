declare module '@20minutes/s3rver' {
  /** The Koa application of s3rver; the tests reach into it through a narrower local type. */
  const S3rver: new (options: Record<string, unknown>) => unknown;
  export default S3rver;
}

declare module '@20minutes/s3rver/lib/models/account.js' {
  /** s3rver's account registry: key pairs it accepts. */
  const AWSAccount: {
    DUMMY_ACCOUNT: {
      createKeyPair(accessKeyId: string, secretAccessKey: string): void;
      revokeAccessKey(accessKeyId: string): void;
    };
  };
  export default AWSAccount;
}
