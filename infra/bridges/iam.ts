/**
 * The IAM policy documents of a bridge instance's role: it may read its one password parameter and complete the
 * lifecycle actions of its own group. Nothing else. Pure JSON text, so tests read exactly what AWS receives.
 */

/**
 * The instance role may read the one password parameter...
 *
 * @param parameterArn - ARN of the pool's SSM SecureString.
 * @returns the policy document (JSON text).
 */
export function readPasswordPolicy(parameterArn: string): string {
  // No kms:Decrypt: the parameter uses the AWS-managed aws/ssm key, whose key policy already lets principals of
  // the account decrypt through SSM; an IAM grant here would only widen access.
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn }],
  });
}

/**
 * ...and complete lifecycle actions of its own group. Nothing else.
 *
 * @param autoScalingGroupArn - ARN of the pool's Auto Scaling Group.
 * @returns the policy document (JSON text).
 */
export function completeLifecyclePolicy(autoScalingGroupArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "autoscaling:CompleteLifecycleAction", Resource: autoScalingGroupArn }],
  });
}
